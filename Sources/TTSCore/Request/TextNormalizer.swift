import Foundation

/// Brings text to the canonical form that is keyed: Unicode NFC, trimmed, every run of
/// whitespace (spaces, tabs, newlines, no-break spaces) collapsed to one space. Case is kept,
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
        scalar.properties.generalCategory == .control
    }
}
