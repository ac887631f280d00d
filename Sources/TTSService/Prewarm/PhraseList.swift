import Foundation
import TTSCore

/// A phrase list read from a file: the phrases it asks for and the problems found in it, each
/// with its line number. Parsing never throws and never stops at the first problem, so a
/// caller can report every bad line at once (and `--strict` can refuse the whole file).
///
/// ```swift
/// let list = PhraseList.parse(data, format: .csv, source: "menu.csv")
/// for problem in list.problems { print(problem) }          // menu.csv:7: unknown column 'voise' …
/// let request = list.entries[0].request(defaults: sessionRequest)
/// ```
public struct PhraseList: Sendable {
    /// Where the list came from, for messages (`menu.csv`, `stdin`).
    public var source: String
    public var format: PhraseListFormat
    /// The phrases, in file order.
    public var entries: [PhraseEntry]
    /// Lines that could not be read as phrases, in file order.
    public var problems: [PhraseProblem]
    /// CSV/TSV: the header's column names as written (trimmed), in order; empty otherwise.
    /// A rejects file repeats them.
    public var columns: [String]
    /// Physical lines in the input.
    public var lineCount: Int

    public init(source: String, format: PhraseListFormat, entries: [PhraseEntry] = [],
                problems: [PhraseProblem] = [], columns: [String] = [], lineCount: Int = 0) {
        self.source = source
        self.format = format
        self.entries = entries
        self.problems = problems
        self.columns = columns
        self.lineCount = lineCount
    }

    /// Reads a phrase list. Accepts UTF-8 with or without a byte-order mark, LF or CRLF line
    /// endings. Blank lines are skipped in every format.
    public static func parse(_ data: Data, format: PhraseListFormat, source: String) -> PhraseList {
        let lines = PhysicalLine.split(data)
        var list: PhraseList
        switch format {
        case .text: list = TextPhraseParser(source: source).parse(lines)
        case .csv: list = DelimitedPhraseParser(source: source, format: .csv).parse(lines)
        case .tsv: list = DelimitedPhraseParser(source: source, format: .tsv).parse(lines)
        case .jsonl: list = JSONLinesPhraseParser(source: source).parse(lines)
        }
        list.lineCount = lines.count
        // Readers may find a problem after later records (an unclosed quote); report in file order.
        list.problems = list.problems.enumerated().sorted { ($0.element.line, $0.offset) < ($1.element.line, $1.offset) }.map(\.element)
        return list
    }
}

/// One phrase of a list: its line, an optional caller-chosen id, and the request fields the
/// list gave. An empty field means "use the session's value" (see `request(defaults:)`).
public struct PhraseEntry: Sendable, Hashable {
    /// The line the phrase starts on (1-based; a CSV record with embedded newlines starts here).
    public var line: Int
    /// The `id` column or key, when the list has one (export names files after it).
    public var id: String?
    public var text: String
    public var voice: String
    public var language: String
    public var engine: String
    public var model: String
    public var style: String

    public init(line: Int, id: String? = nil, text: String, voice: String = "", language: String = "",
                engine: String = "", model: String = "", style: String = "") {
        self.line = line
        self.id = id
        self.text = text
        self.voice = voice
        self.language = language
        self.engine = engine
        self.model = model
        self.style = style
    }

    /// The request this phrase asks for, with the session's values where the phrase is silent.
    ///
    /// Voices and models belong to an engine: a phrase that names another engine than the
    /// session's does not inherit the session's voice or model (its engine picks them, unless
    /// the phrase names them too).
    public func request(defaults: AudioRequest) -> AudioRequest {
        var request = defaults
        request.text = text
        let ownEngine = engine.trimmingCharacters(in: .whitespaces).lowercased()
        if !ownEngine.isEmpty && ownEngine != defaults.engine.lowercased() {
            request.engine = ownEngine
            request.voice = ""
            request.model = ""
        }
        if !voice.isEmpty { request.voice = voice }
        if !language.isEmpty { request.language = language }
        if !model.isEmpty { request.model = model }
        if !style.isEmpty { request.style = style }
        return request
    }

    /// The same settings with another text (how text directives are carried from line to line).
    func with(text: String, line: Int) -> PhraseEntry {
        var copy = self
        copy.text = text
        copy.line = line
        return copy
    }
}

/// A line of a phrase list that could not be used, and why.
public struct PhraseProblem: Sendable, Hashable, CustomStringConvertible {
    public var source: String
    /// 1-based; 1 for problems with a CSV/TSV header.
    public var line: Int
    /// What is wrong and what to do about it.
    public var reason: String
    /// The record exactly as it was in the file (without its line ending; the lines of a
    /// multi-line CSV record joined by LF), so a rejects file gives it back for fixing. Empty
    /// for problems that are not one record (a bad header column).
    public var record: Data
    /// Text lists: the directives in force at this line, so a rejects file can restore them.
    public var context: PhraseEntry?

    public init(source: String, line: Int, reason: String, record: Data = Data(), context: PhraseEntry? = nil) {
        self.source = source
        self.line = line
        self.reason = reason
        self.record = record
        self.context = context
    }

    /// `menu.csv:7: reason`, the way compilers name a place.
    public var description: String { "\(source):\(line): \(reason)" }
}

/// One line of the input as bytes, and as text when it is valid UTF-8.
struct PhysicalLine {
    let number: Int
    let bytes: ArraySlice<UInt8>
    /// nil when the line is not valid UTF-8.
    let text: String?

    /// Splits on LF, drops a CR before it and a UTF-8 byte-order mark at the start. A final
    /// line ending does not start another line.
    static func split(_ data: Data) -> [PhysicalLine] {
        var bytes = [UInt8](data)
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes.removeFirst(3) }
        var lines: [PhysicalLine] = []
        var start = 0
        var number = 0
        func add(_ end: Int) {
            number += 1
            var slice = bytes[start..<end]
            if slice.last == 0x0D { slice = slice.dropLast() }
            lines.append(PhysicalLine(number: number, bytes: slice, text: String(validating: slice, as: UTF8.self)))
        }
        for i in bytes.indices where bytes[i] == 0x0A {
            add(i)
            start = i + 1
        }
        if start < bytes.count { add(bytes.count) }
        return lines
    }

    static let invalidUTF8Reason = "the line is not valid UTF-8: save the file as UTF-8 (with or without BOM)"
}

/// Checks shared by every format, so each reports the same reasons.
enum PhraseChecks {
    static func problem(in entry: PhraseEntry) -> String? {
        if TextNormalizer.normalize(entry.text).isEmpty {
            return "the phrase has no text"
        }
        let language = entry.language.trimmingCharacters(in: .whitespaces)
        if !language.isEmpty && !LanguageTag.isWellFormed(language) {
            return languageReason(language)
        }
        return nil
    }

    static func languageReason(_ language: String) -> String {
        "language '\(language)' is not a well-formed BCP-47 tag: use a code such as en-US, de-DE, pt-BR or ja"
    }
}
