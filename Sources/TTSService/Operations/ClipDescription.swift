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
        [("key", .string(clip.key.hex)), ("tier", .string(tier.rawValue)), ("path", .string(path.path))]
            + clip.jsonFields.filter { $0.0 != "key" }
            + [("elapsed_ms", .double((elapsedMs * 1000).rounded() / 1000))]
    }
}

/// A clip named by its full key or a unique prefix of at least four hex characters, as people
/// and URLs name them (`info 3fa4c2d1`, `GET /v1/clips/3fa4c2d1`).
public enum ClipLookup: Sendable {
    case found(Clip)
    /// Well formed, but no clip has it (`message` says so).
    case notFound(String)
    /// Not a key or prefix, or a prefix several clips share (`message` says what to give).
    case unusable(String)

    public static func find(_ word: String, in index: ClipIndex) throws -> ClipLookup {
        let prefix = word.lowercased()
        if let key = RequestKey(hex: prefix) {
            if let clip = try index.clip(for: key) { return .found(clip) }
            return .notFound("no clip has the key \(prefix)")
        }
        guard prefix.count >= 4, prefix.allSatisfy({ $0.isHexDigit }) else {
            return .unusable("'\(word)' is not a key: give the full key or at least its first 4 hex characters (see `ls`)")
        }
        let matches = try index.clips(withKeyPrefix: prefix, limit: 2)
        guard let first = matches.first else { return .notFound("no clip key starts with \(prefix)") }
        guard matches.count == 1 else { return .unusable("several clips start with \(prefix): give more characters") }
        return .found(first)
    }
}
