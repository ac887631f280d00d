/// The first 16 hex digits of a digest's text as one 64-bit word: what `RequestKey` and
/// `BlobHash` give `Hasher`. Their text is 64 hex digits of a SHA-256, so 16 digits (64 bits)
/// spread as well as all 64, and a dictionary of keys (the memory tier, the pending hits)
/// hashes a quarter of the bytes on every hit; equality still compares every digit.
enum DigestPrefix {
    static func word(_ hex: String) -> UInt64 {
        var word: UInt64 = 0
        for byte in hex.utf8.prefix(16) {
            // '0'–'9' (0x30–0x39) → 0–9, 'a'–'f' (0x61–0x66) → 10–15; the text is checked
            // lowercase hex when the key is made, and any other byte still hashes consistently.
            word = word << 4 | UInt64((byte & 0x0F) &+ 9 &* (byte >> 6))
        }
        return word
    }
}
