import Foundation

/// A JSON value with ordered object keys, for output that people read as well as scripts
/// (`--json` lines, log lines): keys keep the order they were written in.
public enum JSONValue: Sendable, Equatable, ExpressibleByStringLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByBooleanLiteral, ExpressibleByFloatLiteral {
    case string(String)
    case int(Int)
    case double(Double)
    case bool(Bool)
    case null
    case array([JSONValue])
    case object([(String, JSONValue)])

    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int) { self = .int(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(floatLiteral value: Double) { self = .double(value) }

    public static func == (a: JSONValue, b: JSONValue) -> Bool { a.serialized() == b.serialized() }

    /// Compact, single-line JSON.
    public func serialized() -> String {
        String(decoding: serializedUTF8(), as: UTF8.self)
    }

    /// `serialized()` as UTF-8 bytes, for writing to a file descriptor without a String between.
    public func serializedUTF8() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(512)
        write(into: &out)
        return out
    }

    /// Looks up a key of an object (first match), for tests and small readers.
    public subscript(key: String) -> JSONValue? {
        guard case .object(let pairs) = self else { return nil }
        return pairs.first { $0.0 == key }?.1
    }

    /// Writes UTF-8 bytes, not String pieces: a `say` line serializes a 15-field object, and
    /// appending to a String scalar by scalar cost more than the cache look-up it reports.
    private func write(into out: inout [UInt8]) {
        switch self {
        case .string(let s): JSONValue.writeString(s, into: &out)
        case .int(let i): out.append(contentsOf: String(i).utf8)
        case .double(let d):
            if d.isFinite {
                out.append(contentsOf: (d == d.rounded() && abs(d) < 1e15 ? String(Int64(d)) : String(d)).utf8)
            } else {
                out.append(contentsOf: "null".utf8)
            }
        case .bool(let b): out.append(contentsOf: (b ? "true" : "false").utf8)
        case .null: out.append(contentsOf: "null".utf8)
        case .array(let items):
            out.append(UInt8(ascii: "["))
            for (i, item) in items.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                item.write(into: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let pairs):
            out.append(UInt8(ascii: "{"))
            for (i, (key, value)) in pairs.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                JSONValue.writeString(key, into: &out)
                out.append(UInt8(ascii: ":"))
                value.write(into: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    /// A JSON string: `"` and `\` escaped, control characters as `\n`, `\r`, `\t` or `\u00XX`,
    /// and U+2028/U+2029 (line breaks to JavaScript) as `\u2028`/`\u2029`. Works on the UTF-8
    /// bytes: every byte of a multi-byte scalar is ≥ 0x80, so only ASCII bytes and the lead
    /// byte of U+2028/U+2029 (E2 80 A8/A9) need a look.
    private static func writeString(_ s: String, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        var s = s
        s.withUTF8 { bytes in
            var i = 0
            var copied = 0  // bytes[copied..<i] are plain and not yet written
            while i < bytes.count {
                let byte = bytes[i]
                // Most bytes need nothing: step over them without the switch below.
                if byte >= 0x20 && byte != 0x22 && byte != 0x5C && byte != 0xE2 {
                    i += 1
                    continue
                }
                let escape: [UInt8]?
                var length = 1
                switch byte {
                case UInt8(ascii: "\""): escape = Array("\\\"".utf8)
                case UInt8(ascii: "\\"): escape = Array("\\\\".utf8)
                case UInt8(ascii: "\n"): escape = Array("\\n".utf8)
                case UInt8(ascii: "\r"): escape = Array("\\r".utf8)
                case UInt8(ascii: "\t"): escape = Array("\\t".utf8)
                case 0..<0x20: escape = unicodeEscape(UInt32(byte))
                case 0xE2 where i + 2 < bytes.count && bytes[i + 1] == 0x80 && (bytes[i + 2] == 0xA8 || bytes[i + 2] == 0xA9):
                    escape = unicodeEscape(bytes[i + 2] == 0xA8 ? 0x2028 : 0x2029)
                    length = 3
                default: escape = nil
                }
                if let escape {
                    out.append(contentsOf: bytes[copied..<i])
                    out.append(contentsOf: escape)
                    i += length
                    copied = i
                } else {
                    i += 1
                }
            }
            out.append(contentsOf: bytes[copied..<bytes.count])
        }
        out.append(UInt8(ascii: "\""))
    }

    /// `\uXXXX` with four lowercase hex digits.
    private static func unicodeEscape(_ value: UInt32) -> [UInt8] {
        let digits = Array("0123456789abcdef".utf8)
        return [UInt8(ascii: "\\"), UInt8(ascii: "u"), digits[Int(value >> 12 & 0xF)], digits[Int(value >> 8 & 0xF)],
                digits[Int(value >> 4 & 0xF)], digits[Int(value & 0xF)]]
    }

    /// Parses JSON text (via Foundation's parser), keeping object keys in sorted order since
    /// JSONSerialization does not preserve the original order.
    public static func parse(_ text: String) throws -> JSONValue {
        let object = try JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])
        return from(object)
    }

    private static func from(_ any: Any) -> JSONValue {
        switch any {
        case let s as String: return .string(s)
        case let n as NSNumber:
            // Foundation hands JSON booleans back as a distinct NSNumber subclass.
            if String(describing: type(of: n)).contains("Bool") { return .bool(n.boolValue) }
            let objCType = String(cString: n.objCType)
            if objCType == "d" || objCType == "f" { return .double(n.doubleValue) }
            return .int(n.intValue)
        case let a as [Any]: return .array(a.map(from))
        case let o as [String: Any]: return .object(o.keys.sorted().map { ($0, from(o[$0]!)) })
        default: return .null
        }
    }

    public var stringValue: String? { if case .string(let s) = self { return s }; return nil }
    public var intValue: Int? {
        switch self {
        case .int(let i): return i
        case .double(let d): return Int(exactly: d)
        default: return nil
        }
    }
}
