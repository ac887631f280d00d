import Foundation
import TTSCore
import TTSStore

/// Reads of a clip's bytes on the normal data path, and what happens when they are damaged.
///
/// Every hit pays one `stat` (size against the row, in `localClip`); every place that reads
/// the bytes (publishing to Redis, export, play) reads them through `verifiedAudio(of:)`, which
/// rehashes them. A blob that fails either check is moved to `<store>/quarantine/` and the
/// request is a miss, so the clip is fetched from Redis or generated again. A damaged byte that
/// keeps the size is caught by those hashing reads and by `verify`, not by a plain hit.
extension SpeechService {
    /// The clip's bytes, hash-checked. A damaged blob is quarantined and the error thrown.
    public func verifiedAudio(of clip: Clip) throws -> Data {
        do {
            return try blobs.read(clip.blob, verify: true)
        } catch let error as TTSError where blobs.contains(clip.blob) {
            quarantineDamaged(clip, reason: error.message)
            throw error
        }
    }

    /// The clip's audio for export or play: hash-checked, and when the blob is damaged or gone,
    /// fetched or generated again under the same key. Returns the clip as now stored.
    public func audio(for clip: Clip) async throws -> (clip: Clip, audio: Data) {
        if let audio = try? verifiedAudio(of: clip) { return (clip, audio) }
        let request = AudioRequest(text: clip.text, voice: clip.voice, language: clip.language, engine: clip.engine,
                                   model: clip.model, style: clip.style)
        // Dialogue clips name their speakers only in the key: they cannot be rebuilt from the row.
        guard RequestKey(request) == clip.key else {
            throw TTSError.store("clip \(clip.key.short) ('\(excerpt(clip.text))') is damaged or missing and cannot be regenerated from its row: ask for it again with the same speakers, or remove it with `rm \(clip.key.short)`.")
        }
        let generation = try await generateOrFetch(request)
        return (generation.clip, try verifiedAudio(of: generation.clip))
    }

    func quarantineDamaged(_ clip: Clip, reason: String) {
        let moved = try? blobs.quarantine(clip.blob)
        metrics.recordCorruptBlob()
        logger.warn("blob-corrupt", [("key", .string(clip.key.hex)), ("blob", .string(clip.blob.hex)),
                                     ("reason", .string(reason)), ("quarantined", .string(moved?.path ?? "-"))])
    }

    /// Waits until no generation is in flight (their writes done, their Redis locks released),
    /// streamed ones included, at most `timeout`. Returns whether everything finished. Used at
    /// shutdown.
    public func drain(timeout: Duration) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while await flightsInProgress > 0 || streamsInProgress > 0 {
            if ContinuousClock.now >= deadline { return false }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return true
    }
}
