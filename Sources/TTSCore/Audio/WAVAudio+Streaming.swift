import Foundation

extension WAVAudio {
    /// The 44-byte header of a WAV stream whose length is not known when it starts: the RIFF and
    /// data sizes are 0xFFFFFFFF, the convention streaming players (ffmpeg, browsers, aplay)
    /// accept as "until the end". The samples follow it as they arrive.
    ///
    /// ```swift
    /// send(WAVAudio.streamingHeader(for: PCMFormat(sampleRate: 24_000)))
    /// for try await pcm in pieces { send(pcm) }
    /// ```
    public static func streamingHeader(for format: PCMFormat) -> Data {
        var header = WAVAudio(format: format, pcm: Data()).encoded()
        header.replaceSubrange(4..<8, with: [0xFF, 0xFF, 0xFF, 0xFF])
        header.replaceSubrange(40..<44, with: [0xFF, 0xFF, 0xFF, 0xFF])
        return header
    }
}
