import Foundation
import TTSCore

/// Which clips `ClipIndex.list` and `ClipIndex.count` return. Every field is optional; the
/// ones that are set must all match (AND).
///
/// `voice`, `language`, `engine` and `model` match exactly. `textContains` matches a substring
/// of the clip's text, ignoring case (Unicode-aware: `"CAFÉ"` finds `"café"`); `%`, `_`,
/// quotes and backslashes in it are plain characters, not patterns. `createdSince` keeps clips
/// created at or after that moment (`export --since`).
///
/// ```swift
/// let greetings = try index.list(ClipFilter(voice: "Kore", textContains: "hello"), limit: 20, offset: 0)
/// ```
public struct ClipFilter: Sendable, Equatable {
    public var voice: String?
    public var language: String?
    public var engine: String?
    public var model: String?
    public var textContains: String?
    public var createdSince: Date?

    public init(voice: String? = nil, language: String? = nil, engine: String? = nil,
                model: String? = nil, textContains: String? = nil, createdSince: Date? = nil) {
        self.voice = voice
        self.language = language
        self.engine = engine
        self.model = model
        self.textContains = textContains
        self.createdSince = createdSince
    }

    /// Matches every clip.
    public static let all = ClipFilter()

    /// The SQL function that lowercases text for `textContains`, registered by `ClipIndex` on
    /// its connection. SQLite's own `lower()` and `LIKE` fold ASCII letters only.
    static let foldFunctionName = "tts_fold"
    static func fold(_ text: String) -> String { text.lowercased() }

    /// `WHERE …` (or an empty string) and the values to bind, in order. Column names come from
    /// this code; user values are only ever bound.
    var whereClause: (sql: String, values: [SQLiteValue]) {
        var conditions: [String] = []
        var values: [SQLiteValue] = []
        for (column, value) in [("voice", voice), ("language", language), ("engine", engine), ("model", model)] {
            if let value {
                values.append(.text(value))
                conditions.append("\(column) = ?\(values.count)")
            }
        }
        if let textContains {
            values.append(.text(ClipFilter.fold(textContains)))
            // instr() compares literally, so no LIKE escaping is needed for % and _.
            conditions.append("instr(\(ClipFilter.foldFunctionName)(text), ?\(values.count)) > 0")
        }
        if let createdSince {
            values.append(.real(createdSince.timeIntervalSince1970))
            conditions.append("created_at >= ?\(values.count)")
        }
        return (conditions.isEmpty ? "" : " WHERE " + conditions.joined(separator: " AND "), values)
    }
}
