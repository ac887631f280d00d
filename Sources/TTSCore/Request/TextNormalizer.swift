import Foundation

/// Brings text to the canonical form that is keyed: Unicode NFC, trimmed, every run of
/// whitespace (spaces, tabs, newlines, no-break spaces, and invisible separators such as a
/// byte-order mark) collapsed to one space. Case is kept,
/// because "US" and "us" are spoken differently.
public enum TextNormalizer {
    public static func normalize(_ text: String) -> String {
        // Most requests (every one a script or phrase list repeats) are printable ASCII that is
        // already in canonical form; NFC through Foundation alone costs a few microseconds,
        // more than the cache look-up the text is keyed for.
        if isCanonicalASCII(text) { return text }
        return normalizeScalars(text)
    }

    /// Whether `text` is printable ASCII (U+0020–U+007E) with no space at either end and no two
    /// spaces in a row. Such text is its own normal form: ASCII is untouched by NFC, and there is
    /// no whitespace to trim or collapse nor a control character to drop.
    static func isCanonicalASCII(_ text: String) -> Bool {
        var previous: UInt8 = 0x20  // a leading space counts as a run
        for byte in text.utf8 {
            guard byte >= 0x20, byte < 0x7F, !(byte == 0x20 && previous == 0x20) else { return false }
            previous = byte
        }
        return previous != 0x20 || text.isEmpty
    }

    /// The general path: NFC, then one pass over the scalars. `normalize` gives the same result
    /// for every input; tests compare the two.
    static func normalizeScalars(_ text: String) -> String {
        let composed = text.precomposedStringWithCanonicalMapping
        var out = String.UnicodeScalarView()
        var pendingSpace = false
        for scalar in composed.unicodeScalars {
            if scalar.properties.isWhitespace || isInvisibleSeparator(scalar) {
                pendingSpace = !out.isEmpty
            } else {
                if pendingSpace { out.append(" ") }
                pendingSpace = false
                out.append(scalar)
            }
        }
        return String(out)
    }

    /// Control characters other than whitespace (NUL, BEL, …) carry no speech; treating them as
    /// separators keeps them out of keys and file names.
    private static func isInvisibleSeparator(_ scalar: Unicode.Scalar) -> Bool {
        scalar.properties.generalCategory == .control || invisible.contains(scalar.value)
    }

    /// A byte-order mark pasted from a file, and zero-width spaces, are not Unicode whitespace
    /// but are never meant as speech; keeping them would give one sentence several keys.
    /// (Zero-width joiners stay: they build emoji and Indic conjuncts.)
    private static let invisible: Set<UInt32> = [0xFEFF, 0x200B, 0x2060]
}
