import Foundation
import TTSCore

/// Which manifest an export writes into its folder.
public enum ManifestFormat: String, Sendable, CaseIterable {
    case csv, json, jsonl, none

    /// `manifest.csv`, `manifest.json`, `manifest.jsonl`; nil for `none`.
    public var fileName: String? { self == .none ? nil : "manifest.\(rawValue)" }

    /// Every name a manifest may have, lowercased: reserved so no clip is named like one.
    static var reservedNames: Set<String> { Set(allCases.compactMap(\.fileName)) }
}

/// One exported file as the manifest records it: where it is, what it says, and the SHA-256 of
/// its bytes, so a consumer can check the copy it received.
public struct ManifestEntry: Sendable, Equatable {
    /// Relative to the export folder, `/`-separated.
    public var file: String
    public var text: String
    public var voice: String
    public var language: String
    public var engine: String
    public var model: String
    public var durationMs: Int
    public var sampleRate: Int
    public var bytes: Int
    public var sha256: String
    public var key: String
    /// `pcm16` for the stored WAV, else the encoding converted to (`mp3`, `opus`, `ulaw`, …).
    public var encoding: String
    /// kbit/s of MP3 and Opus files; nil for the others.
    public var bitrate: Int?

    public init(file: String, text: String, voice: String, language: String, engine: String, model: String,
                durationMs: Int, sampleRate: Int, bytes: Int, sha256: String, key: String,
                encoding: String = AudioEncoding.pcm16.rawValue, bitrate: Int? = nil) {
        self.file = file
        self.text = text
        self.voice = voice
        self.language = language
        self.engine = engine
        self.model = model
        self.durationMs = durationMs
        self.sampleRate = sampleRate
        self.bytes = bytes
        self.sha256 = sha256
        self.key = key
        self.encoding = encoding
        self.bitrate = bitrate
    }
}

/// The manifest of an export folder: the record of which files the exporter wrote, read back
/// by the next export for `--prune`. Encodes and decodes CSV (RFC 4180: CRLF rows, fields
/// with `,` `"` CR or LF quoted, quotes doubled), JSON (`{"files":[…]}`) and JSON Lines.
///
/// ```swift
/// let data = ExportManifest.encode(entries, as: .csv)
/// let back = try ExportManifest.decode(data, as: .csv)   // == entries
/// ```
public enum ExportManifest {
    public static let columns = ["file", "text", "voice", "language", "engine", "model", "duration_ms",
                                 "sample_rate", "bytes", "sha256", "key"]
    /// Written by every export, optional when read: manifests from before they existed are
    /// WAV exports (`pcm16`, no bit rate).
    public static let formatColumns = ["encoding", "bitrate"]

    public static func encode(_ entries: [ManifestEntry], as format: ManifestFormat) -> Data {
        switch format {
        case .csv:
            // Built as bytes (an export of 10,000 clips writes 10,000 rows): plain fields are
            // copied as they are, the rest go through `csvField`.
            var out: [UInt8] = []
            out.reserveCapacity(64 + entries.count * 192)
            out.append(contentsOf: ((columns + formatColumns).joined(separator: ",") + "\r\n").utf8)
            let comma = UInt8(ascii: ",")
            for e in entries {
                // The order of `columns`.
                for text in [e.file, e.text, e.voice, e.language, e.engine, e.model] {
                    appendCSVField(text, to: &out)
                    out.append(comma)
                }
                for number in [e.durationMs, e.sampleRate, e.bytes] {
                    appendDecimal(number, to: &out)
                    out.append(comma)
                }
                appendCSVField(e.sha256, to: &out)
                out.append(comma)
                appendCSVField(e.key, to: &out)
                out.append(comma)
                appendCSVField(e.encoding, to: &out)
                out.append(comma)
                if let bitrate = e.bitrate { appendDecimal(bitrate, to: &out) }
                out.append(UInt8(ascii: "\r"))
                out.append(UInt8(ascii: "\n"))
            }
            return Data(out)
        case .json:
            return Data((JSONValue.object([("files", .array(entries.map(json)))]).serialized() + "\n").utf8)
        case .jsonl:
            return Data(entries.map { json($0).serialized() + "\n" }.joined().utf8)
        case .none:
            return Data()
        }
    }

    /// Throws a `.store` error naming what is wrong when the text is not a manifest.
    public static func decode(_ data: Data, as format: ManifestFormat) throws -> [ManifestEntry] {
        let text = String(decoding: data, as: UTF8.self)
        switch format {
        case .csv:
            let rows = try parseCSV(text)
            guard let header = rows.first else { return [] }
            let positions = try columns.map { name -> Int in
                guard let i = header.firstIndex(of: name) else { throw damaged("the CSV header lacks the column '\(name)'") }
                return i
            }
            let optional = formatColumns.map { header.firstIndex(of: $0) }
            return try rows.dropFirst().filter { $0 != [""] }.map { row in
                guard row.count >= header.count else { throw damaged("a CSV row has \(row.count) fields, the header \(header.count)") }
                return try entry(positions.map { row[$0] } + optional.map { $0.map { row[$0] } ?? "" })
            }
        case .json:
            guard case .array(let files)? = try parseJSON(text)["files"] else { throw damaged("no \"files\" array") }
            return try files.map(entry)
        case .jsonl:
            return try text.split(whereSeparator: \.isNewline).map { try entry(parseJSON(String($0))) }
        case .none:
            return []
        }
    }

    // MARK: Fields

    private static func json(_ e: ManifestEntry) -> JSONValue {
        .object([("file", .string(e.file)), ("text", .string(e.text)), ("voice", .string(e.voice)),
                 ("language", .string(e.language)), ("engine", .string(e.engine)), ("model", .string(e.model)),
                 ("duration_ms", .int(e.durationMs)), ("sample_rate", .int(e.sampleRate)), ("bytes", .int(e.bytes)),
                 ("sha256", .string(e.sha256)), ("key", .string(e.key)), ("encoding", .string(e.encoding)),
                 ("bitrate", e.bitrate.map { .int($0) } ?? .null)])
    }

    private static func entry(_ v: [String]) throws -> ManifestEntry {
        func int(_ s: String, _ name: String) throws -> Int {
            guard let n = Int(s) else { throw damaged("\(name) '\(s)' is not a number") }
            return n
        }
        return ManifestEntry(file: v[0], text: v[1], voice: v[2], language: v[3], engine: v[4], model: v[5],
                             durationMs: try int(v[6], "duration_ms"), sampleRate: try int(v[7], "sample_rate"),
                             bytes: try int(v[8], "bytes"), sha256: v[9], key: v[10],
                             encoding: v[11].isEmpty ? AudioEncoding.pcm16.rawValue : v[11],
                             bitrate: v[12].isEmpty ? nil : try int(v[12], "bitrate"))
    }

    private static func entry(_ object: JSONValue) throws -> ManifestEntry {
        guard case .object = object else { throw damaged("an entry is not a JSON object") }
        let numeric: Set<String> = ["duration_ms", "sample_rate", "bytes", "bitrate"]
        return try entry((columns + formatColumns).map { name in
            let value = object[name]
            if numeric.contains(name) { return value?.intValue.map(String.init) ?? "" }
            if formatColumns.contains(name) { return value?.stringValue ?? "" }
            guard let text = value?.stringValue else { throw damaged("an entry lacks the text field \"\(name)\"") }
            return text
        })
    }

    private static func parseJSON(_ text: String) throws -> JSONValue {
        do { return try JSONValue.parse(text) } catch { throw damaged("it is not valid JSON") }
    }

    private static func damaged(_ why: String) -> TTSError {
        TTSError.store("the export manifest cannot be read: \(why). Fix or remove it; without it --prune cannot tell which files an earlier export wrote.")
    }

    // MARK: CSV (RFC 4180)

    /// `csvField(value)` appended to `out`, without building a String when nothing needs quoting.
    static func appendCSVField(_ value: String, to out: inout [UInt8]) {
        let bytes = value.utf8
        let plain = bytes.first != 0x20 && bytes.last != 0x20 && !bytes.contains { byte in
            byte == UInt8(ascii: ",") || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\r") || byte == UInt8(ascii: "\n")
        }
        out.append(contentsOf: plain ? bytes : csvField(value).utf8)
    }

    /// `String(n)` appended as bytes (a number never needs quoting).
    static func appendDecimal(_ n: Int, to out: inout [UInt8]) {
        guard n >= 0 else {
            out.append(contentsOf: String(n).utf8)
            return
        }
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                     UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var count = 0
        var rest = n
        withUnsafeMutableBytes(of: &digits) { buffer in
            repeat {
                buffer[19 - count] = UInt8(ascii: "0") + UInt8(rest % 10)
                rest /= 10
                count += 1
            } while rest > 0
            out.append(contentsOf: buffer[(20 - count)...])
        }
    }

    static func csvField(_ value: String) -> String {
        let needsQuotes = value.unicodeScalars.contains { $0 == "," || $0 == "\"" || $0 == "\r" || $0 == "\n" }
            || value.hasPrefix(" ") || value.hasSuffix(" ")
        return needsQuotes ? "\"" + value.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : value
    }

    /// Rows of fields. Accepts CRLF or LF row ends; quoted fields may hold both.
    static func parseCSV(_ text: String) throws -> [[String]] {
        var rows: [[String]] = []
        var row: [String] = []
        var field = String.UnicodeScalarView()
        var inQuotes = false
        var fieldStarted = false
        var scalars = text.unicodeScalars.makeIterator()
        var pending: Unicode.Scalar? = nil
        func next() -> Unicode.Scalar? {
            if let p = pending { pending = nil; return p }
            return scalars.next()
        }
        while let c = next() {
            if inQuotes {
                if c == "\"" {
                    if let after = next() {
                        if after == "\"" { field.append("\"") } else { inQuotes = false; pending = after }
                    } else {
                        inQuotes = false
                    }
                } else {
                    field.append(c)
                }
                continue
            }
            switch c {
            case "\"" where !fieldStarted:
                inQuotes = true
                fieldStarted = true
            case ",":
                row.append(String(field)); field = String.UnicodeScalarView(); fieldStarted = false
            case "\r":
                continue
            case "\n":
                row.append(String(field)); field = String.UnicodeScalarView(); fieldStarted = false
                rows.append(row); row = []
            default:
                field.append(c)
                fieldStarted = true
            }
        }
        if inQuotes { throw damaged("a quoted CSV field is not closed") }
        if fieldStarted || !row.isEmpty {
            row.append(String(field))
            rows.append(row)
        }
        return rows
    }
}
