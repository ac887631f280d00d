/// Well-formedness of BCP-47 language tags (RFC 5646 §2.1 syntax), without a registry: the
/// engines speak more languages than any list we could ship, so we check the shape only.
public enum LanguageTag {
    public static func isWellFormed(_ tag: String) -> Bool {
        let subtags = tag.split(separator: "-", omittingEmptySubsequences: false).map { String($0) }
        guard !subtags.isEmpty, subtags.allSatisfy({ !$0.isEmpty && $0.count <= 8 && $0.allSatisfy(\.isASCIIAlphanumeric) }) else {
            return false
        }
        var i = 0
        // Private-use tag on its own: x-whatever.
        if subtags[0].lowercased() == "x" { return isPrivateUse(subtags[1...]) }
        // language: 2-3 letters (+ up to three 3-letter extlangs), 4 letters, or 5-8 letters.
        let language = subtags[0]
        guard language.allSatisfy(\.isASCIILetter), (2...8).contains(language.count) else { return false }
        i = 1
        if language.count <= 3 {
            var extlangs = 0
            while i < subtags.count, subtags[i].count == 3, subtags[i].allSatisfy(\.isASCIILetter), extlangs < 3 {
                i += 1; extlangs += 1
            }
        }
        // script: 4 letters.
        if i < subtags.count, subtags[i].count == 4, subtags[i].allSatisfy(\.isASCIILetter) { i += 1 }
        // region: 2 letters or 3 digits.
        if i < subtags.count, (subtags[i].count == 2 && subtags[i].allSatisfy(\.isASCIILetter))
            || (subtags[i].count == 3 && subtags[i].allSatisfy(\.isASCIIDigit)) { i += 1 }
        // variants: 5-8 alphanumerics, or a digit followed by 3 alphanumerics.
        while i < subtags.count, isVariant(subtags[i]) { i += 1 }
        // extensions: a singleton (not x) followed by one or more 2-8 character subtags.
        var singletons = Set<String>()
        while i < subtags.count, subtags[i].count == 1, subtags[i].lowercased() != "x" {
            guard singletons.insert(subtags[i].lowercased()).inserted else { return false }
            i += 1
            let start = i
            while i < subtags.count, subtags[i].count >= 2 { i += 1 }
            if i == start { return false }
        }
        if i < subtags.count, subtags[i].lowercased() == "x" { return isPrivateUse(subtags[(i + 1)...]) }
        return i == subtags.count
    }

    /// The conventional case of a well-formed tag (RFC 5646 §2.1.1): language lowercase,
    /// script titlecase, region uppercase, the rest lowercase — so `EN-us` and `en-US` key alike.
    public static func canonicalCase(_ tag: String) -> String {
        let subtags = tag.split(separator: "-", omittingEmptySubsequences: false).map(String.init)
        var out: [String] = []
        var afterSingleton = false
        for (i, subtag) in subtags.enumerated() {
            let lower = subtag.lowercased()
            if i == 0 || afterSingleton {
                out.append(lower)
            } else if subtag.count == 1 {
                afterSingleton = true
                out.append(lower)
            } else if subtag.count == 2 {
                out.append(lower.uppercased())
            } else if subtag.count == 4 && subtag.allSatisfy(\.isASCIILetter) {
                out.append(lower.prefix(1).uppercased() + lower.dropFirst())
            } else {
                out.append(lower)
            }
        }
        return out.joined(separator: "-")
    }

    private static func isVariant(_ s: String) -> Bool {
        if (5...8).contains(s.count) { return true }
        return s.count == 4 && s.first!.isASCIIDigit
    }

    private static func isPrivateUse(_ rest: ArraySlice<String>) -> Bool {
        !rest.isEmpty && rest.allSatisfy { (1...8).contains($0.count) }
    }
}

extension Character {
    var isASCIILetter: Bool { isASCII && isLetter }
    var isASCIIDigit: Bool { isASCII && isNumber }
    var isASCIIAlphanumeric: Bool { isASCIILetter || isASCIIDigit }
}
