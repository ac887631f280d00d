import Foundation
import TTSCore

/// One piece of a streamed clip: the format comes first, then PCM in order; the clip is the
/// concatenation of the `.audio` pieces.
///
/// ```swift
/// for try await chunk in engine.stream(request) {
///     switch chunk {
///     case .format(let format): player.start(format)
///     case .audio(let pcm): player.play(pcm)      // whole frames, little-endian
///     }
/// }
/// ```
public enum AudioChunk: Sendable, Equatable {
    /// The PCM format of everything that follows; sent once, before any audio.
    case format(PCMFormat)
    /// Little-endian PCM, a whole number of frames.
    case audio(Data)
}

/// Cuts a byte stream into whole frames: an engine's pieces may end inside a sample (Gemini's
/// chunk boundaries do), and a consumer that splits each piece into samples on its own would
/// swap byte pairs from there on. The remainder waits for the next piece.
///
/// ```swift
/// var framer = PCMFramer(bytesPerFrame: 2)
/// framer.push(Data([1, 2, 3]))   // Data([1, 2]); the 3 waits
/// framer.push(Data([4]))         // Data([3, 4])
/// framer.leftover                // 0: the stream ended on a frame boundary
/// ```
public struct PCMFramer: Sendable {
    public let bytesPerFrame: Int
    private var carry = Data()

    public init(bytesPerFrame: Int) { self.bytesPerFrame = max(1, bytesPerFrame) }

    /// The whole frames now available (possibly empty).
    public mutating func push(_ bytes: Data) -> Data {
        var joined = carry
        joined.append(bytes)
        let whole = joined.count - joined.count % bytesPerFrame
        carry = joined.suffix(from: joined.startIndex + whole)
        return Data(joined.prefix(whole))
    }

    /// Bytes held back because they do not yet make a frame; non-zero at the end means the
    /// stream ended inside a sample.
    public var leftover: Int { carry.count }
}
