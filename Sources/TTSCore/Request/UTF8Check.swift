/// Where bytes stop being UTF-8. Input that is not UTF-8 must be refused, not repaired:
/// Swift's repairing decoders turn every bad byte into U+FFFD, so `caf\xE9` and `caf\xE8`
/// would become one text, one key, and one of them would be served the other's audio.
public enum UTF8Check {
    /// The offset of the first byte that does not start or continue a valid UTF-8 sequence;
    /// nil when every byte is valid.
    public static func firstInvalidByte<Bytes: Sequence>(in bytes: Bytes) -> Int? where Bytes.Element == UInt8 {
        // All-ASCII text (most lines of a script) is valid without parsing scalar by scalar.
        let ascii = bytes.withContiguousStorageIfAvailable { buffer in
            buffer.reduce(UInt8(0)) { $0 | $1 } < 0x80
        }
        if ascii == true { return nil }
        var iterator = bytes.makeIterator()
        var parser = Unicode.UTF8.ForwardParser()
        var offset = 0
        while true {
            switch parser.parseScalar(from: &iterator) {
            case .valid(let scalar): offset += scalar.count
            case .error: return offset
            case .emptyInput: return nil
            }
        }
    }

    /// The message for a line or argument that is not UTF-8, naming where, as in "the line is
    /// not valid UTF-8 at byte offset 3 (0xE9)…". Offsets count from 0.
    public static func problem(in what: String, bytes: [UInt8], at offset: Int) -> String {
        let hex = offset < bytes.count ? String(bytes[offset], radix: 16, uppercase: true) : "??"
        return "\(what) is not valid UTF-8 at byte offset \(offset) (0x\(hex.count == 1 ? "0" + hex : hex)): it was refused, not guessed at; send the text as UTF-8"
    }
}
