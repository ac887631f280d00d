import Foundation

/// `Resampler` for a signal that arrives in pieces (a stream from an engine): each piece gives
/// the output samples that the input so far determines completely, and `finish` the rest, so
/// the pieces together are the very bits `resample` gives for the whole signal.
///
/// It keeps only the input the next outputs still read (about `2·halfTaps` samples).
///
/// ```swift
/// var stream = StreamingResampler(from: 22_050, to: 24_000)
/// var out = stream.push(firstPiece) + stream.push(secondPiece)
/// out += stream.finish()          // == Resampler(from: 22_050, to: 24_000).resample(firstPiece + secondPiece)
/// ```
public struct StreamingResampler: Sendable {
    public let resampler: Resampler
    /// The input from index `keptStart` of the signal on.
    private var kept: [Float] = []
    private var keptStart = 0
    private var received = 0
    /// Output samples given out so far.
    private var produced = 0

    public init(from inputRate: Int, to outputRate: Int) {
        resampler = Resampler(from: inputRate, to: outputRate)
    }

    /// The outputs `input` completes.
    public mutating func push(_ input: [Float]) -> [Float] {
        if resampler.up == resampler.down { return input }
        kept.append(contentsOf: input)
        received += input.count
        var out: [Float] = []
        while resampler.isComplete(produced + out.count, given: received) { out.append(0) }
        fill(&out, signalLength: received)
        let unneeded = resampler.firstInput(of: produced) - keptStart
        if unneeded > 0 && unneeded >= kept.count / 2 {
            kept.removeFirst(unneeded)
            keptStart += unneeded
        }
        return out
    }

    /// The last outputs, once the signal has ended.
    public mutating func finish() -> [Float] {
        if resampler.up == resampler.down { return [] }
        var out = [Float](repeating: 0, count: max(0, resampler.outputCount(for: received) - produced))
        fill(&out, signalLength: received)
        kept = []
        return out
    }

    /// Computes `out.count` outputs from `produced` on.
    private mutating func fill(_ out: inout [Float], signalLength: Int) {
        let (resampler, start, first) = (self.resampler, keptStart, produced)
        kept.withUnsafeBufferPointer { x in
            for i in out.indices { out[i] = resampler.sample(first + i, of: x, startingAt: start, signalLength: signalLength) }
        }
        produced += out.count
    }
}

/// 16-bit little-endian PCM in pieces, resampled as it comes: the bytes of the pieces together
/// equal `AudioTranscoder.convert`'s 16-bit PCM for the whole clip. Pieces may end inside a
/// sample or a frame; the rest waits for the next piece.
///
/// ```swift
/// var stream = PCM16StreamResampler(from: 22_050, to: 24_000, channels: 1)
/// send(stream.push(piece))   // as each piece arrives
/// send(stream.finish())
/// ```
public struct PCM16StreamResampler: Sendable {
    private var planes: [StreamingResampler]
    private var carry = Data()
    public let channels: Int

    public init(from inputRate: Int, to outputRate: Int, channels: Int) {
        self.channels = max(1, channels)
        planes = Array(repeating: StreamingResampler(from: inputRate, to: outputRate), count: self.channels)
    }

    public mutating func push(_ bytes: Data) -> Data {
        carry.append(bytes)
        let frameBytes = 2 * channels
        let whole = carry.count - carry.count % frameBytes
        guard whole > 0 else { return Data() }
        let frames = carry.prefix(whole)
        carry = Data(carry.dropFirst(whole))
        let input = AudioTranscoder.deinterleave(WAVAudio(format: PCMFormat(sampleRate: planes[0].resampler.inputRate,
                                                                            channels: channels, bitsPerSample: 16),
                                                          pcm: Data(frames)))
        return interleave(input.indices.map { planes[$0].push(input[$0]) })
    }

    public mutating func finish() -> Data {
        interleave(planes.indices.map { planes[$0].finish() })
    }

    private func interleave(_ outputs: [[Float]]) -> Data {
        let frames = outputs.map(\.count).min() ?? 0
        var pcm = Data(capacity: frames * channels * 2)
        for i in 0..<frames {
            for plane in outputs {
                let sample = AudioTranscoder.int16(plane[i])
                pcm.append(UInt8(truncatingIfNeeded: sample))
                pcm.append(UInt8(truncatingIfNeeded: sample >> 8))
            }
        }
        return pcm
    }
}
