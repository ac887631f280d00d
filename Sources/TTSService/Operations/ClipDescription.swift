import Foundation
import TTSCore
import TTSStore

/// The JSON fields every face prints for a clip and for an answer, so `ls --json`,
/// `info --json`, `say --json` and the HTTP API (`GET /v1/clips`, `POST /v1/speech` with
/// `Accept: application/json`) show the same object.
extension Clip {
    public var jsonFields: [(String, JSONValue)] {
        var fields: [(String, JSONValue)] = [("key", .string(key.hex))]
        appendFields(to: &fields)
        return fields
    }

    /// Every field but the key, in `jsonFields`' order: `say`'s object puts its tier and path
    /// between the two, and builds it in one array (a `say --json` line is a few microseconds).
    func appendFields(to fields: inout [(String, JSONValue)]) {
        fields += [("blob", .string(blob.hex)), ("bytes", .int(bytes)),
                   ("duration_ms", .int(durationMs)), ("sample_rate", .int(sampleRate)),
                   ("engine", .string(engine)), ("model", .string(model)), ("voice", .string(voice)),
                   ("language", .string(language)), ("style", .string(style)), ("text", .string(text)),
                   ("hits", .int(hits)), ("created", .string(UTCTimestamp.string(from: createdAt))),
                   ("last_used", .string(UTCTimestamp.string(from: lastUsedAt)))]
    }
}

extension Generation {
    /// `say --json`'s object: the key, the tier that answered, the WAV file's path (or `path`,
    /// the file the answer names, when that is another), the clip's fields and the time taken.
    public func jsonFields(path: String? = nil) -> [(String, JSONValue)] {
        var fields: [(String, JSONValue)] = []
        fields.reserveCapacity(20)
        fields += [("key", .string(clip.key.hex)), ("tier", .string(tier.rawValue)), ("path", .string(path ?? filePath))]
        clip.appendFields(to: &fields)
        fields.append(("elapsed_ms", .double((elapsedMs * 1000).rounded() / 1000)))
        return fields
    }
}
