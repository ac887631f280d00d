/// The first 8 bytes of a hex digest's text, as one word: what `RequestKey` and `BlobHash` give
/// `Hasher`. Their text is 64 hex digits of a SHA-256, so 16 digits (64 bits) spread as well as
/// all 64, and a dictionary of keys (the memory tier, the pending hits) hashes a quarter of the
/// bytes on every hit; equality still compares every digit.
enum DigestPrefix {
    static func word(_ hex: String) -> UInt64 {
        var word: UInt64 = 0
        var shift: UInt64 = 0
        for byte in hex.utf8.prefix(8) {
            word |= UInt64(byte) << shift
            shift += 8
        }
        return word
    }
}
