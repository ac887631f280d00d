import Foundation
import Synchronization
import TTSCore

/// The outline of a clip's audio for the console to draw: the loudest sample of each of `points`
/// equal slices, 0…1. Computed on the server because the browser would otherwise download and
/// decode every WAV in the list to draw it.
///
/// ```swift
/// let peaks = Waveform.peaks(of: try WAVAudio.decode(wav), points: 200)   // 200 values in 0…1
/// ```
public enum Waveform {
    /// Points the console asks for when it names none, and the most it may ask for.
    public static let defaultPoints = 200
    public static let pointRange = 8...2000

    /// The peak of each slice over every channel. A clip with fewer frames than `points` gets
    /// one point per frame; a clip without frames gets none.
    public static func peaks(of audio: WAVAudio, points: Int) -> [Float] {
        let planes = AudioTranscoder.deinterleave(audio)
        let frames = audio.frameCount
        let count = min(max(1, points), frames)
        guard count > 0 else { return [] }
        var peaks = [Float](repeating: 0, count: count)
        for slice in 0..<count {
            // Integer bounds so every frame lands in exactly one slice.
            let start = slice * frames / count, end = (slice + 1) * frames / count
            var peak: Float = 0
            for plane in planes {
                for i in start..<end { peak = max(peak, abs(plane[i])) }
            }
            peaks[slice] = min(1, peak)
        }
        return peaks
    }
}

/// Waveforms already computed, by blob and point count, least recently used out past
/// `capacity`. Blobs are immutable, so an entry never goes stale: the same name is the same
/// bytes, whichever clip points at it.
final class WaveformCache: Sendable {
    struct Key: Hashable {
        var blob: BlobHash
        var points: Int
    }

    private struct Entries {
        var peaks: [Key: (peaks: [Float], used: UInt64)] = [:]
        var clock: UInt64 = 0
    }

    let capacity: Int
    private let entries = Mutex(Entries())

    init(capacity: Int = 1024) { self.capacity = max(1, capacity) }

    var count: Int { entries.withLock { $0.peaks.count } }

    func peaks(for key: Key) -> [Float]? {
        entries.withLock { state in
            guard let entry = state.peaks[key] else { return nil }
            state.clock += 1
            state.peaks[key] = (entry.peaks, state.clock)
            return entry.peaks
        }
    }

    func remember(_ peaks: [Float], for key: Key) {
        entries.withLock { state in
            state.clock += 1
            state.peaks[key] = (peaks, state.clock)
            // A linear scan on overflow: at a thousand small entries it costs less than keeping
            // a linked recency list in step on every hit.
            if state.peaks.count > capacity, let oldest = state.peaks.min(by: { $0.value.used < $1.value.used })?.key {
                state.peaks[oldest] = nil
            }
        }
    }
}
