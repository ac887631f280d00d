import Foundation
import Glibc
import TTSCore
import TTSStore

/// Writes phrases (and records that could not be read) back in a list's own format, so a
/// rejects file can be fixed and fed to `prewarm` again: text lists get the directives each
/// line needs and a comment with the reason; CSV/TSV repeat the header; JSON Lines one object
/// a line. Records with problems are written as they were read.
///
/// ```swift
/// var writer = PhraseListWriter(format: list.format, columns: list.columns)
/// writer.append(entry, reason: "unknown voice 'xx'")
/// try writer.data.writeAtomically(to: url)
/// ```
public struct PhraseListWriter: Sendable {
    public let format: PhraseListFormat
    public let columns: [String]
    public private(set) var data = Data()
    /// Text lists: the directives in force at the end of what is written so far.
    private var settings = PhraseEntry(line: 0, text: "")
    private var wroteHeader = false

    /// `columns`: the CSV/TSV header to write (defaults to `text,voice,language,engine,model,style,id`).
    public init(format: PhraseListFormat, columns: [String] = []) {
        self.format = format
        self.columns = columns.isEmpty ? ["text", "voice", "language", "engine", "model", "style", "id"] : columns
    }

    /// Appends a phrase; `reason` becomes a comment above it in text lists.
    public mutating func append(_ entry: PhraseEntry, reason: String? = nil) {
        switch format {
        case .text:
            comment(line: entry.line, reason: reason)
            restore(entry)
            let escaped = ["#", "@", "\\"].contains(where: entry.text.hasPrefix) ? "\\" + entry.text : entry.text
            // A phrase read from CSV may hold line breaks; a text line cannot.
            write(escaped.split(whereSeparator: \.isNewline).joined(separator: " "))
        case .csv, .tsv:
            header()
            let values = columns.map { column -> String in
                switch column.lowercased() {
                case "text": entry.text
                case "voice": entry.voice
                case "language", "lang": entry.language
                case "engine": entry.engine
                case "model": entry.model
                case "style": entry.style
                case "id": entry.id ?? ""
                default: ""
                }
            }
            write(values.map(quoted).joined(separator: format == .tsv ? "\t" : ","))
        case .jsonl:
            var fields: [(String, JSONValue)] = [("text", .string(entry.text))]
            for (name, value) in [("voice", entry.voice), ("language", entry.language), ("engine", entry.engine),
                                  ("model", entry.model), ("style", entry.style)] where !value.isEmpty {
                fields.append((name, .string(value)))
            }
            if let id = entry.id { fields.append(("id", .string(id))) }
            write(JSONValue.object(fields).serialized())
        }
    }

    /// Appends a record that could not be read, byte for byte as it was (so the same problem
    /// shows again until it is fixed). Problems that are no record (a header column) add nothing.
    public mutating func append(_ problem: PhraseProblem) {
        guard !problem.record.isEmpty else { return }
        if format == .csv || format == .tsv { header() }
        if format == .text {
            comment(line: problem.line, reason: problem.reason)
            if let context = problem.context { restore(context) }
        }
        data.append(problem.record)
        data.append(0x0A)
    }

    private mutating func comment(line: Int, reason: String?) {
        guard let reason else { return }
        write("# line \(line): " + reason.split(whereSeparator: \.isNewline).joined(separator: " "))
    }

    /// Writes the directives that bring the text list's settings to the entry's.
    private mutating func restore(_ entry: PhraseEntry) {
        for (name, path) in [("engine", \PhraseEntry.engine), ("model", \.model), ("voice", \.voice),
                             ("lang", \.language), ("style", \.style)] where settings[keyPath: path] != entry[keyPath: path] {
            let value = entry[keyPath: path]
            write(value.isEmpty ? "@\(name)" : "@\(name) \(value)")
        }
        settings = entry
    }

    private mutating func header() {
        guard !wroteHeader else { return }
        wroteHeader = true
        write(columns.map(quoted).joined(separator: format == .tsv ? "\t" : ","))
    }

    private func quoted(_ field: String) -> String {
        let delimiter: Character = format == .tsv ? "\t" : ","
        guard field.contains(where: { $0 == delimiter || $0 == "\"" || $0.isNewline }) else { return field }
        return "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    private mutating func write(_ line: String) {
        data.append(contentsOf: Array(line.utf8))
        data.append(0x0A)
    }
}

extension Data {
    /// Writes to a temporary file in the destination's folder, flushes it, then renames it
    /// into place: a reader (or a crash) sees the old file or the new one, never half of one.
    public func writeAtomically(to url: URL) throws {
        do {
            try DurableFile.replaceAtomically(url.path, with: self)
        } catch {
            throw TTSError.store("cannot write \(url.path) (\(error.action) failed: \(error.reason)). Check that the folder exists and is writable, or give another path.")
        }
    }
}
