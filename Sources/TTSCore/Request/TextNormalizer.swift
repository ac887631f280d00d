import Foundation

/// Brings text to the canonical form that is keyed: Unicode NFC, trimmed, every run of
/// whitespace (spaces, tabs, newlines, no-break spaces, and invisible separators such as a
/// byte-order mark) collapsed to one space. Case is kept,
/// because "US" and "us" are spoken differently.
public enum TextNormalizer {
    public static func normalize(_ text: String) -> String {
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
