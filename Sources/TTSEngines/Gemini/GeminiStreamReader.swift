import Foundation
import TTSCore

/// Turns the bytes of a `streamGenerateContent?alt=sse` answer into audio chunks as they
/// arrive, and decides at the end whether the audio is complete.
///
/// Facts it follows (gemini-api.md, Streaming): the clip is the concatenation of the chunks'
/// audio, and a chunk boundary may fall inside a sample (a `PCMFramer` re-cuts whole frames);
/// a stream answering `audio/wav` carries a RIFF header in its first chunk only, which is
/// stripped (a header is never passed on as audio); only `finishReason: STOP` means complete —
/// a stream that ends otherwise, or without a finish reason, is a failure.
struct GeminiStreamReader {
    let label: RequestLabel
    let key: String
    private var parser = EventStreamParser()
    private var format: PCMFormat?
    private var framer = PCMFramer(bytesPerFrame: 2)
    /// The first chunk of a WAV answer, held until its header is complete.
    private var header: Data?
    private var finishReason: String?
    /// Whether any audio has been passed on.
    private(set) var sentAudio = false

    init(label: RequestLabel, key: String) {
        self.label = label
        self.key = key
    }

    /// The chunks completed by `bytes`: `.format` before the first `.audio`.
    mutating func push(_ bytes: Data) -> Result<[AudioChunk], AttemptFailure> {
        read(parser.push(bytes))
    }

    /// At the end of the body: the last chunks, or why the stream is not a complete clip.
    mutating func finish() -> Result<[AudioChunk], AttemptFailure> {
        let last: [AudioChunk]
        switch read(parser.finish()) {
        case let .success(chunks): last = chunks
        case let .failure(failure): return .failure(failure)
        }
        func fail(_ what: String) -> Result<[AudioChunk], AttemptFailure> {
            .failure(AttemptFailure(error: TTSError(.api, "Gemini \(label): the stream \(what)", httpStatus: 200), next: .retry(after: nil)))
        }
        switch finishReason {
        case nil:
            return fail("ended without finishReason STOP, so its audio may be incomplete")
        case "STOP"?:
            if header != nil { return fail("ended inside the header of its WAV audio") }
            guard sentAudio || last.contains(where: { if case .audio = $0 { true } else { false } }) else {
                return fail("held no audio (finishReason STOP)")
            }
            guard framer.leftover == 0 else {
                return fail("ended inside a sample (\(framer.leftover) byte(s) left over)")
            }
            return .success(last)
        case let reason?:
            return fail("was cut short (finishReason \(reason))")
        }
    }

    private mutating func read(_ events: [Data]) -> Result<[AudioChunk], AttemptFailure> {
        var chunks: [AudioChunk] = []
        for payload in events {
            switch GeminiAnswer.streamEvent(payload, label: label, key: key) {
            case let .failure(failure):
                return .failure(failure)
            case let .success(event):
                // Audio after the finish reason is not part of the clip.
                if finishReason == nil, let audio = event.audio {
                    do {
                        try take(audio, mimeType: event.mimeType, into: &chunks)
                    } catch let error as TTSError {
                        return .failure(AttemptFailure(error: TTSError(.api, "Gemini \(label): the stream's \(error.message)", httpStatus: 200),
                                                       next: .retry(after: nil)))
                    } catch {
                        return .failure(AttemptFailure(error: TTSError(.api, "Gemini \(label): \(error)"), next: .retry(after: nil)))
                    }
                }
                if let reason = event.finishReason, finishReason == nil {
                    finishReason = reason
                    if reason != "STOP" {
                        return .failure(AttemptFailure(
                            error: TTSError(.api, "Gemini \(label): the stream was cut short (finishReason \(reason))", httpStatus: 200),
                            next: .retry(after: nil)))
                    }
                }
            }
        }
        return .success(chunks)
    }

    private mutating func take(_ audio: Data, mimeType: String, into chunks: inout [AudioChunk]) throws {
        var pcm = audio
        if format == nil {
            let isWAV = mimeType.lowercased().contains("wav") || audio.starts(with: Array("RIFF".utf8)) || header != nil
            if isWAV {
                var held = header ?? Data()
                held.append(audio)
                guard let parsed = try StreamingWAVHeader.parse(held) else {
                    header = held  // the header continues in the next chunk
                    return
                }
                header = nil
                format = parsed.format
                pcm = held.subdata(in: held.startIndex + parsed.dataOffset..<held.endIndex)
            } else {
                format = GeminiAnswer.pcmFormat(mimeType: mimeType)
            }
            framer = PCMFramer(bytesPerFrame: format!.bytesPerFrame)
            chunks.append(.format(format!))
        } else if audio.starts(with: Array("RIFF".utf8)), let again = try? StreamingWAVHeader.parse(audio) {
            // A second header would be stored as audio (a click); it is never passed on.
            pcm = audio.subdata(in: audio.startIndex + again.dataOffset..<audio.endIndex)
        }
        let whole = framer.push(pcm)
        if !whole.isEmpty {
            chunks.append(.audio(whole))
            sentAudio = true
        }
    }
}

/// The header of a WAV file whose length is not known yet: the data chunk's size is ignored
/// (streamed WAV declares 0 or 0xFFFFFFFF), the audio is whatever follows it.
enum StreamingWAVHeader {
    /// The format and where the samples start; nil when `bytes` end before the data chunk's
    /// header. Throws when the bytes are not a PCM WAV header.
    static func parse(_ data: Data) throws -> (format: PCMFormat, dataOffset: Int)? {
        let bytes = [UInt8](data.prefix(4096))
        guard bytes.count >= 12 else { return nil }
        guard bytes[0..<4].elementsEqual("RIFF".utf8), bytes[8..<12].elementsEqual("WAVE".utf8) else {
            throw TTSError(.content, "WAV audio does not start with RIFF…WAVE")
        }
        var offset = 12
        var format: PCMFormat?
        while offset + 8 <= bytes.count {
            let id = String(decoding: bytes[offset..<offset + 4], as: UTF8.self)
            let size = Int(le32(bytes, offset + 4))
            let body = offset + 8
            if id == "data" {
                guard let format else { throw TTSError(.content, "WAV audio has its data before its fmt chunk") }
                return (format, body)
            }
            guard body + size <= bytes.count else {
                if body + size > 4096 { throw TTSError(.content, "WAV header has a \(size)-byte '\(id)' chunk before its audio") }
                return nil
            }
            if id == "fmt " {
                guard size >= 16, le16(bytes, body) == 1 else { throw TTSError(.content, "WAV audio is not linear PCM") }
                format = PCMFormat(sampleRate: Int(le32(bytes, body + 4)), channels: Int(le16(bytes, body + 2)),
                                   bitsPerSample: Int(le16(bytes, body + 14)))
                guard format!.bytesPerFrame > 0, format!.sampleRate > 0 else { throw TTSError(.content, "WAV header describes no audio") }
            }
            offset = body + size + (size & 1)
        }
        return nil
    }

    private static func le16(_ b: [UInt8], _ i: Int) -> UInt16 { UInt16(b[i]) | UInt16(b[i + 1]) << 8 }
    private static func le32(_ b: [UInt8], _ i: Int) -> UInt32 {
        UInt32(b[i]) | UInt32(b[i + 1]) << 8 | UInt32(b[i + 2]) << 16 | UInt32(b[i + 3]) << 24
    }
}
