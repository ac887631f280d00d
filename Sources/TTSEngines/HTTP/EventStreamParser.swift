import Foundation

/// Reads a Server-Sent Events body (`text/event-stream`) as it arrives, in pieces cut anywhere:
/// inside a line, inside `\r\n`, inside a multi-byte character.
///
/// Each event's `data:` lines (joined with `\n`) become one payload when the blank line that
/// ends the event arrives; `event:`, `id:`, `retry:` and comment lines are ignored. Google also
/// answers some failures on a streaming URL with a plain JSON document (`{"error":…}` or a
/// one-element array), possibly pretty-printed over many lines: a body — or the rest of one —
/// whose line starts with `{` or `[` is collected whole and delivered as one payload at `finish`.
///
/// ```swift
/// var parser = EventStreamParser()
/// parser.push(Data("data: {\"a\":1}\n\nda".utf8))   // [{"a":1}]
/// parser.push(Data("ta: 2\n\n".utf8))                // [2]
/// parser.finish()                                     // []
/// ```
public struct EventStreamParser: Sendable {
    /// Bytes of a line not yet ended.
    private var pending = Data()
    /// `data:` lines of the event in progress.
    private var dataLines: [Data] = []
    /// Set once a line starts with `{` or `[`: from there on the body is one JSON document.
    private var document: Data?

    public init() {}

    /// The payloads of every event completed by `bytes`.
    public mutating func push(_ bytes: Data) -> [Data] {
        if document != nil {
            document!.append(bytes)
            return []
        }
        // Bytes already held contain no newline: search only the new ones, so a long event
        // arriving in many small pieces is scanned once, not once per piece.
        let scanned = pending.count
        pending.append(bytes)
        var events: [Data] = []
        var lineStart = pending.startIndex
        var searchFrom = pending.startIndex + scanned
        while let newline = pending[searchFrom...].firstIndex(of: 0x0A) {
            var line = pending[lineStart..<newline]
            if line.last == 0x0D { line = line.dropLast() }
            lineStart = newline + 1
            searchFrom = lineStart
            if let event = take(line) { events.append(event) }
            if document != nil {
                // The rest of the body belongs to the plain JSON answer.
                document!.append(pending[lineStart...])
                pending = Data()
                return events
            }
        }
        pending = Data(pending[lineStart...])
        return events
    }

    /// Call when the body has ended: a plain JSON answer, or a last event whose blank line never
    /// came (a cut connection may still have delivered a complete `data:` line).
    public mutating func finish() -> [Data] {
        if let document {
            self.document = nil
            return document.contains(where: { !Self.isSpace($0) }) ? [document] : []
        }
        var events: [Data] = []
        if !pending.isEmpty {
            let line = pending.last == 0x0D ? pending.dropLast() : pending[...]
            pending = Data()
            // An unterminated line may have been cut anywhere: only a plain JSON start counts.
            if let first = line.first(where: { !Self.isSpace($0) }), first == UInt8(ascii: "{") || first == UInt8(ascii: "[") {
                return [Data(line)]
            }
        }
        if let event = dispatch() { events.append(event) }
        return events
    }

    /// Handles one complete line; returns a payload when the line ends an event.
    private mutating func take(_ line: Data) -> Data? {
        if line.isEmpty { return dispatch() }
        let first = line.first!
        if first == UInt8(ascii: ":") { return nil }  // a comment (keep-alive)
        if first == UInt8(ascii: "{") || first == UInt8(ascii: "[") {
            document = Data(line) + Data([0x0A])
            return nil
        }
        guard line.starts(with: Self.dataField) else { return nil }  // event:, id:, retry:, unknown
        var value = line.dropFirst(Self.dataField.count)
        if value.first == UInt8(ascii: " ") { value = value.dropFirst() }
        dataLines.append(Data(value))
        return nil
    }

    private mutating func dispatch() -> Data? {
        guard !dataLines.isEmpty else { return nil }
        defer { dataLines.removeAll() }
        if dataLines.count == 1 { return dataLines[0] }
        return Data(dataLines.joined(separator: [0x0A]))
    }

    private static let dataField = Array("data:".utf8)
    private static func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 }
}
