import Foundation

/// The file formats a phrase list can come in. `prewarm` reads them; `export --list` reuses
/// the same parser, and rejects files are written back in the format that was read.
///
/// ```swift
/// PhraseListFormat.detect(path: "menu.csv")      // .csv
/// PhraseListFormat(name: "ndjson")               // .jsonl
/// ```
public enum PhraseListFormat: String, Sendable, CaseIterable, Codable {
    /// One phrase a line, `#` comments, `@voice`/`@lang`/`@engine`/`@model`/`@style` directives.
    case text
    /// Comma-separated values with a header row (RFC 4180 quoting).
    case csv
    /// Tab-separated values with a header row (same quoting as CSV).
    case tsv
    /// One JSON object a line (`{"text": "…", "voice": "…", "id": "…"}`).
    case jsonl

    /// Accepts the format names and file extensions people type: `text`, `txt`, `csv`, `tsv`,
    /// `jsonl`, `ndjson`.
    public init?(name: String) {
        switch name.lowercased() {
        case "text", "txt": self = .text
        case "csv": self = .csv
        case "tsv", "tab": self = .tsv
        case "jsonl", "ndjson", "json-lines": self = .jsonl
        default: return nil
        }
    }

    /// The format a path's extension names (`.txt`, `.csv`, `.tsv`, `.jsonl`, `.ndjson`), or nil
    /// when the extension names none (then `--format` must say).
    public static func detect(path: String) -> PhraseListFormat? {
        let ext = URL(fileURLWithPath: path).pathExtension
        guard !ext.isEmpty, ext.lowercased() != "tab" else { return nil }
        return PhraseListFormat(name: ext)
    }

    /// The extension files of this format are written with (rejects files).
    public var fileExtension: String {
        switch self {
        case .text: "txt"
        case .csv: "csv"
        case .tsv: "tsv"
        case .jsonl: "jsonl"
        }
    }

    /// Accepted names, for messages.
    public static let names = "text, csv, tsv, jsonl"
}
