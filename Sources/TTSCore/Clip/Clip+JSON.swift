import Foundation

extension Clip {
    /// The clip as `ls --json` prints it and the HTTP API answers it: one field list, so a
    /// script and the web console read the same names.
    public var jsonFields: [(String, JSONValue)] {
        [("key", .string(key.hex)), ("blob", .string(blob.hex)), ("bytes", .int(bytes)),
         ("duration_ms", .int(durationMs)), ("sample_rate", .int(sampleRate)),
         ("engine", .string(engine)), ("model", .string(model)), ("voice", .string(voice)),
         ("language", .string(language)), ("style", .string(style)), ("text", .string(text)),
         ("hits", .int(hits)), ("created", .string(UTCTimestamp.string(from: createdAt))),
         ("last_used", .string(UTCTimestamp.string(from: lastUsedAt)))]
    }
}
