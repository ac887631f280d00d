import Foundation
import TTSCore
import TTSStore

/// The JSON fields every face prints for a clip and for an answer, so `ls --json`,
/// `info --json`, `say --json` and the HTTP API (`GET /v1/clips`, `POST /v1/speech` with
/// `Accept: application/json`) show the same object.
extension Clip {
    public var jsonFields: [(String, JSONValue)] {
        [("key", .string(key.hex)), ("blob", .string(blob.hex)), ("bytes", .int(bytes)),
         ("duration_ms", .int(durationMs)), ("sample_rate", .int(sampleRate)),
         ("engine", .string(engine)), ("model", .string(model)), ("voice", .string(voice)),
         ("language", .string(language)), ("style", .string(style)), ("text", .string(text)),
         ("hits", .int(hits)), ("created", .string(UTCTimestamp.string(from: createdAt))),
         ("last_used", .string(UTCTimestamp.string(from: lastUsedAt)))]
    }
}

extension Generation {
    /// `say --json`'s object: the key, the tier that answered, the WAV file's path, the clip's
    /// fields and the time taken.
    public var jsonFields: [(String, JSONValue)] {
        [("key", .string(clip.key.hex)), ("tier", .string(tier.rawValue)), ("path", .string(filePath))]
            + clip.jsonFields.filter { $0.0 != "key" }
            + [("elapsed_ms", .double((elapsedMs * 1000).rounded() / 1000))]
    }
}
