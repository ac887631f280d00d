/// One decoded key press (or one bracketed paste), as the editing core sees it.
///
/// The decoder turns terminal bytes into these, so the editing core never sees an escape
/// sequence and can be tested with plain values.
public enum Key: Equatable, Sendable {
    /// A printable character (one Unicode scalar as typed; the buffer joins clusters).
    case character(Character)
    /// Ctrl plus a letter, as the lowercase letter: `.control("a")` is Ctrl-A. Tab, Enter
    /// and Backspace (Ctrl-I, Ctrl-M/J, Ctrl-H) come as their own cases instead.
    case control(Character)
    case enter, tab, backspace, delete, escape
    case left, right, up, down, home, end
    /// Alt-b / Ctrl-Left and Alt-f / Ctrl-Right.
    case wordLeft, wordRight
    /// Everything between `ESC [200~` and `ESC [201~`, newlines normalised to `\n`.
    case paste(String)
    /// Bytes that are not UTF-8 (a terminal set to Latin-1, a binary paste): refused, never
    /// turned into U+FFFD, which would make `caf\xe9` and `caf\xe8` the same text. `offset`
    /// counts bytes into the paste (0 for a typed key).
    case invalidUTF8(byte: UInt8, offset: Int)
    /// A sequence the editor does not bind; ignored.
    case unknown
}

/// Turns terminal input bytes into `Key`s, one byte at a time.
///
/// Input arrives in arbitrary chunks (a UTF-8 character or an escape sequence may be split
/// across two reads), so the decoder keeps its partial state between calls. A lone ESC is
/// ambiguous until more bytes arrive or the input goes quiet: the reader calls `flush()`
/// after a short idle timeout to turn it into `.escape`.
///
///     var decoder = KeyDecoder()
///     decoder.feed(Array("a\u{1b}[D".utf8))   // [.character("a"), .left]
public struct KeyDecoder: Sendable {
    private enum State: Sendable {
        case ground
        case utf8(expected: Int, bytes: [UInt8])
        case escape
        case csi([UInt8])
        case ss3
        case paste([UInt8])
    }
    private var state: State = .ground
    /// CR LF (a paste without bracketed-paste mode) is one Enter, not two.
    private var afterCR = false
    private static let pasteEnd: [UInt8] = Array("\u{1b}[201~".utf8)

    public init() {}

    /// True when the bytes so far end in a lone ESC, which `flush()` would turn into `.escape`,
    /// or in the start of a UTF-8 character that quiet input would leave unfinished (a
    /// Latin-1 `é` typed last: refused after the pause, not left pending).
    public var isWaitingForMore: Bool {
        switch state {
        case .escape, .utf8: return true
        default: return false
        }
    }

    private var isGround: Bool {
        if case .ground = state { return true }
        return false
    }

    /// Decodes `bytes`, returning the keys they complete.
    public mutating func feed(_ bytes: [UInt8]) -> [Key] {
        var keys: [Key] = []
        for byte in bytes {
            let skip = afterCR && byte == 0x0A
            afterCR = byte == 0x0D && isGround
            if !skip { feed(byte, into: &keys) }
        }
        return keys
    }

    /// Ends a pending lone ESC (the input went quiet after it) or an unfinished UTF-8
    /// character. A paste in progress is kept: its end marker is still to come.
    public mutating func flush() -> [Key] {
        switch state {
        case .escape:
            state = .ground
            return [.escape]
        case .utf8(_, let bytes):
            state = .ground
            return [.invalidUTF8(byte: bytes[0], offset: 0)]
        case .csi, .ss3:
            state = .ground
            return [.unknown]
        case .ground, .paste:
            return []
        }
    }

    private mutating func feed(_ byte: UInt8, into keys: inout [Key]) {
        switch state {
        case .ground:
            ground(byte, into: &keys)
        case .utf8(let expected, var bytes):
            guard byte & 0xC0 == 0x80 else {
                state = .ground
                keys.append(.invalidUTF8(byte: bytes[0], offset: 0))
                ground(byte, into: &keys)
                return
            }
            bytes.append(byte)
            if bytes.count == expected {
                state = .ground
                // Overlong forms and surrogates decode to nothing valid: refused like a stray byte.
                guard Self.firstInvalidByte(bytes) == nil, let scalar = String(decoding: bytes, as: UTF8.self).unicodeScalars.first else {
                    keys.append(.invalidUTF8(byte: bytes[0], offset: 0))
                    return
                }
                // C1 controls (U+0080–U+009F) would reach the terminal raw: not text.
                keys.append(scalar.value < 0xA0 ? .unknown : .character(Character(scalar)))
            } else {
                state = .utf8(expected: expected, bytes: bytes)
            }
        case .escape:
            switch byte {
            case UInt8(ascii: "["): state = .csi([])
            case UInt8(ascii: "O"): state = .ss3
            case UInt8(ascii: "b"): state = .ground; keys.append(.wordLeft)
            case UInt8(ascii: "f"): state = .ground; keys.append(.wordRight)
            case 0x1B: keys.append(.escape)  // ESC ESC: the first was a real Escape key
            default:
                state = .ground
                keys.append(.escape)
                ground(byte, into: &keys)
            }
        case .csi(var body):
            body.append(byte)
            if (0x40...0x7E).contains(byte) {
                state = .ground
                if body == Array("200~".utf8) {
                    state = .paste([])
                } else {
                    keys.append(Self.csiKey(body))
                }
            } else if body.count > 16 {
                state = .ground  // not a sequence any terminal sends; drop it
                keys.append(.unknown)
            } else {
                state = .csi(body)
            }
        case .ss3:
            state = .ground
            keys.append(Self.finalKey(byte) ?? .unknown)
        case .paste(var body):
            body.append(byte)
            if body.count >= Self.pasteEnd.count && body.suffix(Self.pasteEnd.count).elementsEqual(Self.pasteEnd) {
                state = .ground
                let pasted = body.dropLast(Self.pasteEnd.count)
                if let offset = Self.firstInvalidByte(pasted) {
                    keys.append(.invalidUTF8(byte: pasted[pasted.startIndex + offset], offset: offset))
                } else {
                    keys.append(.paste(Self.pasteText(pasted)))
                }
            } else {
                state = .paste(body)
            }
        }
    }

    private mutating func ground(_ byte: UInt8, into keys: inout [Key]) {
        switch byte {
        case 0x1B: state = .escape
        case 0x0D, 0x0A: keys.append(.enter)
        case 0x09: keys.append(.tab)
        case 0x08, 0x7F: keys.append(.backspace)
        case 0x01...0x1A: keys.append(.control(Character(Unicode.Scalar(byte + 0x60))))
        case 0x20...0x7E: keys.append(.character(Character(Unicode.Scalar(byte))))
        case 0xC2...0xDF: state = .utf8(expected: 2, bytes: [byte])
        case 0xE0...0xEF: state = .utf8(expected: 3, bytes: [byte])
        case 0xF0...0xF4: state = .utf8(expected: 4, bytes: [byte])
        case 0x80...0xFF: keys.append(.invalidUTF8(byte: byte, offset: 0))
        default: keys.append(.unknown)  // NUL and Ctrl-\ ] ^ _
        }
    }

    /// `ESC [ body`: arrows and Home/End (`A`…`H`), `n ~` keys, and `1;5C`-style modifiers.
    private static func csiKey(_ body: [UInt8]) -> Key {
        guard let final = body.last else { return .unknown }
        let params = String(decoding: body.dropLast(), as: UTF8.self).split(separator: ";")
        if final == UInt8(ascii: "~") {
            switch params.first {
            case "1", "7": return .home
            case "4", "8": return .end
            case "3": return .delete
            default: return .unknown
            }
        }
        guard let key = finalKey(final) else { return .unknown }
        // Ctrl (5) or Alt (3) with Left/Right moves by word, as in xterm and most terminals.
        if params.count == 2, ["3", "5"].contains(params[1]) {
            if key == .left { return .wordLeft }
            if key == .right { return .wordRight }
        }
        return key
    }

    private static func finalKey(_ byte: UInt8) -> Key? {
        switch byte {
        case UInt8(ascii: "A"): return .up
        case UInt8(ascii: "B"): return .down
        case UInt8(ascii: "C"): return .right
        case UInt8(ascii: "D"): return .left
        case UInt8(ascii: "H"): return .home
        case UInt8(ascii: "F"): return .end
        default: return nil
        }
    }

    /// The offset of the first byte that does not belong to valid UTF-8, or nil.
    static func firstInvalidByte<Bytes: Collection>(_ bytes: Bytes) -> Int? where Bytes.Element == UInt8 {
        var iterator = bytes.makeIterator()
        var decoder = UTF8()
        var offset = 0
        while true {
            switch decoder.decode(&iterator) {
            case .scalarValue(let scalar): offset += UTF8.width(scalar)
            case .emptyInput: return nil
            case .error: return offset
            }
        }
    }

    /// Pasted bytes as text: CRLF and CR become `\n`, tabs a space, other controls dropped,
    /// so the buffer never holds a byte the renderer cannot measure.
    private static func pasteText(_ bytes: ArraySlice<UInt8>) -> String {
        var out = String.UnicodeScalarView()
        var afterCR = false
        for scalar in String(decoding: bytes, as: UTF8.self).unicodeScalars {
            defer { afterCR = scalar == "\r" }
            switch scalar {
            case "\r": out.append("\n")
            case "\n": if !afterCR { out.append("\n") }
            case "\t": out.append(" ")
            default: if scalar.value >= 0x20 && scalar.value != 0x7F { out.append(scalar) }
            }
        }
        return String(out)
    }
}
