/// How many terminal columns text takes: 2 for East Asian wide characters and emoji, 0 for
/// combining marks, joiners and other invisible scalars, 1 otherwise.
///
/// The cursor moves by grapheme cluster (Swift `Character`), and a cluster is as wide as its
/// first visible scalar (so "e\u{301}" is 1, "👍🏽" and a ZWJ family are 2), or 2 when it asks
/// for emoji presentation with U+FE0F. This is what current terminals draw; wcwidth-era
/// terminals may disagree on rare emoji, which costs at worst a misplaced cursor, not data.
///
///     DisplayWidth.of("日本語")   // 6
public enum DisplayWidth {
    /// Columns taken by `text`, skipping ANSI escape sequences (`ESC [ … final`), which a
    /// coloured prompt contains and the terminal does not draw.
    public static func of(_ text: String) -> Int {
        var width = 0
        var inEscape = false, afterESC = false
        for character in text {
            if character == "\u{1b}" { afterESC = true; continue }
            if afterESC { afterESC = false; inEscape = character == "["; continue }
            if inEscape {
                if let v = character.unicodeScalars.first?.value, (0x40...0x7E).contains(v) { inEscape = false }
                continue
            }
            width += of(character)
        }
        return width
    }

    /// Columns taken by one grapheme cluster.
    public static func of(_ character: Character) -> Int {
        var width = 0
        for scalar in character.unicodeScalars {
            if scalar == "\u{FE0F}" && width == 1 { return 2 }
            if width == 0 { width = of(scalar) }
        }
        return width
    }

    /// Columns taken by one scalar on its own.
    public static func of(_ scalar: Unicode.Scalar) -> Int {
        let v = scalar.value
        if v < 0x20 || (0x7F..<0xA0).contains(v) { return 0 }
        if v < 0x300 { return 1 }  // fast path: Latin
        switch scalar.properties.generalCategory {
        case .nonspacingMark, .enclosingMark, .format, .control: return 0
        default: break
        }
        if (0x1160...0x11FF).contains(v) { return 0 }  // Hangul medial vowels / final consonants
        if scalar.properties.isEmojiPresentation || isWide(v) { return 2 }
        return 1
    }

    /// East Asian Wide and Fullwidth ranges (Unicode 15, merged), plus the emoji blocks whose
    /// code points default to text presentation but are drawn wide in practice.
    private static let wideRanges: [ClosedRange<UInt32>] = [
        0x1100...0x115F, 0x2329...0x232A, 0x2E80...0x303E, 0x3041...0x33FF,
        0x3400...0x4DBF, 0x4E00...0x9FFF, 0xA000...0xA4CF, 0xA960...0xA97F,
        0xAC00...0xD7A3, 0xF900...0xFAFF, 0xFE10...0xFE19, 0xFE30...0xFE6F,
        0xFF00...0xFF60, 0xFFE0...0xFFE6, 0x16FE0...0x16FE4, 0x17000...0x18CFF,
        0x1B000...0x1B2FF, 0x1F1E6...0x1F1FF, 0x1F300...0x1F64F, 0x1F680...0x1F6FF,
        0x1F900...0x1F9FF, 0x1FA70...0x1FAFF, 0x20000...0x2FFFD, 0x30000...0x3FFFD,
    ]

    private static func isWide(_ v: UInt32) -> Bool {
        guard v >= 0x1100 else { return false }
        var low = 0, high = wideRanges.count - 1
        while low <= high {
            let mid = (low + high) / 2
            if wideRanges[mid].upperBound < v { low = mid + 1 }
            else if wideRanges[mid].lowerBound > v { high = mid - 1 }
            else { return true }
        }
        return false
    }
}
