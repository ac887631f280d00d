import Foundation
import TTSCore

// The three readers behind `PhraseList.parse`. Each turns physical lines into entries and
// problems; none stops at the first problem.

/// Plain text: one phrase a line; `#` starts a comment line; `@voice NAME`, `@lang CODE`,
/// `@engine NAME`, `@model NAME`, `@style TEXT` apply to the lines after them, and the bare
/// directive (`@voice`) goes back to the session's value. A phrase that itself begins with
/// `#`, `@` or `\` is written with a leading `\`.
struct TextPhraseParser {
    let source: String

    static let directives = ["voice", "lang", "language", "engine", "model", "style"]

    func parse(_ lines: [PhysicalLine]) -> PhraseList {
        var list = PhraseList(source: source, format: .text)
        var settings = PhraseEntry(line: 0, text: "")
        for line in lines {
            func problem(_ reason: String, context: PhraseEntry? = nil) {
                list.problems.append(PhraseProblem(source: source, line: line.number, reason: reason,
                                                   record: Data(line.bytes), context: context))
            }
            guard let text = line.text else {
                problem(PhysicalLine.invalidUTF8Reason, context: settings)
                continue
            }
            let trimmed = text.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            if trimmed.hasPrefix("@") {
                if let reason = apply(directive: trimmed, to: &settings) { problem(reason) }
                continue
            }
            let phrase = trimmed.hasPrefix("\\") ? String(trimmed.dropFirst()) : trimmed
            let entry = settings.with(text: phrase, line: line.number)
            if let reason = PhraseChecks.problem(in: entry) {
                problem(reason, context: settings)
            } else {
                list.entries.append(entry)
            }
        }
        return list
    }

    /// Applies `@name value`; returns why it cannot, leaving the settings as they were.
    private func apply(directive: String, to settings: inout PhraseEntry) -> String? {
        let body = directive.dropFirst()
        let name = String(body.prefix { !$0.isWhitespace })
        let value = body.dropFirst(name.count).trimmingCharacters(in: .whitespaces)
        switch name.lowercased() {
        case "voice": settings.voice = value
        case "lang", "language":
            if !value.isEmpty && !LanguageTag.isWellFormed(value) { return PhraseChecks.languageReason(value) }
            settings.language = value
        case "engine": settings.engine = value.lowercased()
        case "model": settings.model = value
        case "style": settings.style = value
        default:
            return "unknown directive @\(name); accepted: @voice, @lang, @engine, @model, @style (write \\@… to speak a line that begins with @)"
        }
        return nil
    }
}

/// CSV and TSV with a header row: `text`, and optional `voice`, `language` (or `lang`),
/// `engine`, `model`, `style`, `id`. RFC 4180 quoting in both: a field in double quotes may
/// hold the delimiter, line breaks and `""` for a quote. A column the reader does not know is
/// reported and ignored; a header without `text` makes the file unusable.
struct DelimitedPhraseParser {
    let source: String
    let format: PhraseListFormat

    static let knownColumns = ["text", "voice", "language", "lang", "engine", "model", "style", "id"]

    /// One record: possibly several physical lines.
    struct Record {
        var line: Int
        var fields: [String]
        var raw: Data
        var problem: String?
    }

    func parse(_ lines: [PhysicalLine]) -> PhraseList {
        var list = PhraseList(source: source, format: format)
        var records = self.records(lines, problems: &list.problems)
        guard !records.isEmpty else {
            list.problems.append(PhraseProblem(source: source, line: 1, reason: "the file has no header row: the first line must name the columns, e.g. text\(delimiterName)voice"))
            return list
        }
        let header = records.removeFirst()
        list.columns = header.fields.map { $0.trimmingCharacters(in: .whitespaces) }
        if let reason = header.problem {
            list.problems.append(PhraseProblem(source: source, line: header.line, reason: "header: " + reason))
            return list
        }
        guard list.columns.contains(where: { $0.lowercased() == "text" }) else {
            list.problems.append(PhraseProblem(source: source, line: header.line,
                reason: "the header has no 'text' column (it names: \(list.columns.joined(separator: ", "))); no row can be read"))
            return list
        }
        // Column index of each known field (by its canonical name).
        var index: [String: Int] = [:]
        for (i, column) in list.columns.enumerated() {
            var name = column.lowercased()
            if name == "lang" { name = "language" }
            if !Self.knownColumns.contains(name) {
                list.problems.append(PhraseProblem(source: source, line: header.line,
                    reason: "unknown column '\(column)' (ignored); accepted: text, voice, language, engine, model, style, id"))
            } else if index[name] != nil {
                list.problems.append(PhraseProblem(source: source, line: header.line,
                    reason: "column '\(column)' appears twice; the second one is ignored"))
            } else {
                index[name] = i
            }
        }
        let textColumn = index["text"]!
        for record in records {
            func problem(_ reason: String) {
                list.problems.append(PhraseProblem(source: source, line: record.line, reason: reason, record: record.raw))
            }
            if let reason = record.problem { problem(reason); continue }
            guard record.fields.count == list.columns.count else {
                problem("the row has \(record.fields.count) field\(record.fields.count == 1 ? "" : "s"); the header has \(list.columns.count) (quote a field that contains \(delimiterName))")
                continue
            }
            func field(_ name: String) -> String {
                index[name].map { record.fields[$0].trimmingCharacters(in: .whitespaces) } ?? ""
            }
            let id = field("id")
            let entry = PhraseEntry(line: record.line, id: id.isEmpty ? nil : id, text: record.fields[textColumn],
                                    voice: field("voice"), language: field("language"), engine: field("engine").lowercased(),
                                    model: field("model"), style: field("style"))
            if let reason = PhraseChecks.problem(in: entry) { problem(reason) } else { list.entries.append(entry) }
        }
        return list
    }

    private var delimiter: Unicode.Scalar { format == .tsv ? "\t" : "," }
    private var delimiterName: String { format == .tsv ? "a tab" : "a comma" }

    /// Splits lines into records, joining the lines of a quoted field that spans them.
    /// Blank lines between records are skipped.
    func records(_ lines: [PhysicalLine], problems: inout [PhraseProblem]) -> [Record] {
        var records: [Record] = []
        var current: Record?
        var field = String.UnicodeScalarView()
        var inQuotes = false
        var closedQuote = false
        for line in lines {
            let text = line.text ?? String(decoding: line.bytes, as: UTF8.self)
            if current == nil {
                if text.trimmingCharacters(in: .whitespaces).isEmpty && line.text != nil { continue }
                current = Record(line: line.number, fields: [], raw: Data(line.bytes), problem: nil)
                field = String.UnicodeScalarView()
                closedQuote = false
            } else {
                // Still inside a quoted field: the line break is part of it.
                current!.raw.append(0x0A)
                current!.raw.append(contentsOf: line.bytes)
                field.append("\n")
            }
            if line.text == nil && current!.problem == nil {
                current!.problem = line.number == current!.line ? PhysicalLine.invalidUTF8Reason
                    : "line \(line.number), inside this record, is not valid UTF-8: save the file as UTF-8"
            }
            let scalars = Array(text.unicodeScalars)
            var i = 0
            while i < scalars.count {
                let c = scalars[i]
                if inQuotes {
                    if c == "\"" {
                        if i + 1 < scalars.count && scalars[i + 1] == "\"" {
                            field.append("\"")
                            i += 1
                        } else {
                            inQuotes = false
                            closedQuote = true
                        }
                    } else {
                        field.append(c)
                    }
                } else if c == delimiter {
                    current!.fields.append(String(field))
                    field = String.UnicodeScalarView()
                    closedQuote = false
                } else if c == "\"" && field.isEmpty && !closedQuote {
                    inQuotes = true
                } else if closedQuote {
                    if current!.problem == nil {
                        current!.problem = "field \(current!.fields.count + 1) has text after its closing quote: write a quote inside a quoted field as \"\""
                    }
                } else {
                    field.append(c)
                }
                i += 1
            }
            if inQuotes { continue }
            current!.fields.append(String(field))
            records.append(current!)
            current = nil
        }
        if let open = current {
            problems.append(PhraseProblem(source: source, line: open.line,
                reason: "a quoted field opened on this line is never closed: add the closing \"", record: open.raw))
        }
        return records
    }
}

/// JSON Lines: one object a line with `text` (required) and optional `voice`, `language`,
/// `engine`, `model`, `style` (strings) and `id` (string or integer). Other keys are refused,
/// so a misspelled `voise` does not silently use the default voice.
struct JSONLinesPhraseParser {
    let source: String

    static let keys = ["text", "voice", "language", "lang", "engine", "model", "style", "id"]

    func parse(_ lines: [PhysicalLine]) -> PhraseList {
        var list = PhraseList(source: source, format: .jsonl)
        for line in lines {
            func problem(_ reason: String) {
                list.problems.append(PhraseProblem(source: source, line: line.number, reason: reason, record: Data(line.bytes)))
            }
            guard let text = line.text else { problem(PhysicalLine.invalidUTF8Reason); continue }
            if text.trimmingCharacters(in: .whitespaces).isEmpty { continue }
            guard let parsed = try? JSONSerialization.jsonObject(with: Data(text.utf8)),
                  let object = parsed as? [String: Any] else {
                problem("the line is not a JSON object; each line must be one object such as {\"text\": \"Hello\", \"voice\": \"en-gb\"}")
                continue
            }
            if let unknown = object.keys.sorted().first(where: { !Self.keys.contains($0) }) {
                problem("unknown key '\(unknown)'; accepted: text, voice, language, engine, model, style, id")
                continue
            }
            var strings: [String: String] = [:]
            var wrongType: String?
            for (key, value) in object where key != "id" {
                if let string = value as? String {
                    strings[key == "lang" ? "language" : key] = string
                } else if !(value is NSNull) {
                    wrongType = key
                }
            }
            if let wrongType { problem("'\(wrongType)' must be a string"); continue }
            var id: String?
            switch object["id"] {
            case nil, is NSNull: id = nil
            case let string as String: id = string
            case let number as NSNumber where number.doubleValue.rounded() == number.doubleValue && abs(number.doubleValue) < 1e15:
                id = String(Int(number.doubleValue))
            default: problem("'id' must be a string or a whole number"); continue
            }
            guard let phrase = strings["text"] else { problem("the object has no \"text\""); continue }
            func field(_ name: String) -> String { strings[name]?.trimmingCharacters(in: .whitespaces) ?? "" }
            let entry = PhraseEntry(line: line.number, id: id, text: phrase, voice: field("voice"),
                                    language: field("language"), engine: field("engine").lowercased(),
                                    model: field("model"), style: field("style"))
            if let reason = PhraseChecks.problem(in: entry) { problem(reason) } else { list.entries.append(entry) }
        }
        return list
    }
}
