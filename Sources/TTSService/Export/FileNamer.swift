import Foundation
import TTSCore

/// One clip to export: the clip, its position `n` in the selection (1-based, `{n}`), and an
/// optional id (`{id}`), as a phrase list gives them. The selection options build these from
/// the index; a phrase list can build them in its own order.
public struct ExportItem: Sendable, Equatable {
    public var clip: Clip
    public var n: Int
    public var id: String?

    public init(clip: Clip, n: Int, id: String? = nil) {
        self.clip = clip
        self.n = n
        self.id = id
    }
}

/// A file name pattern for exported clips, such as `{slug}-{key8}.wav` (the default) or
/// `{voice}/{lang}/{slug}.wav`. `/` in the pattern makes folders; nothing a pattern or a
/// clip's fields contain can name a path outside the export folder.
///
/// Placeholders: `{slug}` (the text as a short ASCII name), `{key}`/`{key8}` (request key),
/// `{blob8}` (audio hash), `{voice}`, `{lang}`, `{engine}`, `{n}` (position), `{id}` (the
/// phrase list's id; the slug when there is none).
///
/// ```swift
/// let template = try FileNameTemplate("{voice}/{slug}.wav")
/// template.render(item)   // "en-us/hello-world.wav"
/// ```
public struct FileNameTemplate: Sendable, Equatable {
    public static let defaultPattern = "{slug}-{key8}.wav"
    public static let placeholders = ["slug", "key8", "key", "blob8", "voice", "lang", "engine", "n", "id"]

    enum Part: Sendable, Equatable {
        case literal(String)
        case placeholder(String)
    }

    public let pattern: String
    let parts: [Part]

    /// Parses the pattern; throws a validation error (field `name`) for an unknown or unclosed
    /// placeholder, or an empty pattern.
    public init(_ pattern: String = FileNameTemplate.defaultPattern) throws {
        func bad(_ why: String) -> TTSError {
            TTSError.validation("name", "--name '\(pattern)': \(why). Placeholders: \(FileNameTemplate.placeholders.map { "{\($0)}" }.joined(separator: " ")); e.g. --name '{voice}/{slug}.wav'")
        }
        guard !pattern.isEmpty else { throw bad("the pattern is empty") }
        var parts: [Part] = []
        var literal = ""
        var rest = Substring(pattern)
        while let open = rest.firstIndex(where: { $0 == "{" || $0 == "}" }) {
            guard rest[open] == "{" else { throw bad("a '}' has no matching '{'") }
            literal += rest[..<open]
            guard let close = rest[open...].firstIndex(of: "}") else { throw bad("a '{' is not closed") }
            let name = String(rest[rest.index(after: open)..<close])
            guard FileNameTemplate.placeholders.contains(name) else { throw bad("unknown placeholder {\(name)}") }
            if !literal.isEmpty { parts.append(.literal(literal)); literal = "" }
            parts.append(.placeholder(name))
            rest = rest[rest.index(after: close)...]
        }
        literal += rest
        if !literal.isEmpty { parts.append(.literal(literal)) }
        self.pattern = pattern
        self.parts = parts
    }

    /// The pattern with a `.wav` ending swapped for `.<fileExtension>` (`{slug}-{key8}.mp3` for
    /// an MP3 export); a pattern ending otherwise is a choice the user made and is kept.
    public func withFileExtension(_ fileExtension: String) -> FileNameTemplate {
        guard pattern.lowercased().hasSuffix(".wav"), fileExtension != "wav",
              let swapped = try? FileNameTemplate(String(pattern.dropLast(3)) + fileExtension) else { return self }
        return swapped
    }

    /// The relative path for `item`, made safe by `SafePath` (no `..`, no absolute path, no
    /// control characters, bounded components, never empty).
    public func render(_ item: ExportItem) -> String {
        var out = ""
        for part in parts {
            switch part {
            case .literal(let text): out += text
            case .placeholder(let name): out += SafePath.value(value(name, item))
            }
        }
        return SafePath.relativePath(out)
    }

    private func value(_ name: String, _ item: ExportItem) -> String {
        let clip = item.clip
        switch name {
        case "slug": return Slug.make(clip.text)
        case "key8": return clip.key.short
        case "key": return clip.key.hex
        case "blob8": return clip.blob.short
        case "voice": return clip.voice
        case "lang": return clip.language.isEmpty ? "auto" : clip.language
        case "engine": return clip.engine
        case "n": return String(item.n)
        case "id": return item.id.flatMap { $0.isEmpty ? nil : $0 } ?? Slug.make(clip.text)
        default: return ""
        }
    }
}

/// Turns text into a short file-name word: ASCII, lowercase, words joined by `-`, at most
/// `maxLength` characters, never empty.
///
/// Latin letters lose their accents by canonical decomposition (`Crème brûlée` → `creme-brulee`),
/// a few letters that do not decompose are spelled out (`ß` → `ss`, `Ø` → `o`), apostrophes
/// join (`don't` → `dont`), and every other character separates words. Text with no Latin
/// letters or digits (Arabic, Chinese, emoji) gives `clip`; the key in the default name keeps
/// such files apart.
public enum Slug {
    public static let defaultMaxLength = 48
    public static let fallback = "clip"

    private static let spelled: [Unicode.Scalar: String] = [
        "ß": "ss", "æ": "ae", "Æ": "ae", "œ": "oe", "Œ": "oe", "ø": "o", "Ø": "o", "ł": "l", "Ł": "l",
        "đ": "d", "Đ": "d", "ð": "d", "Ð": "d", "þ": "th", "Þ": "th", "ı": "i", "ħ": "h", "Ħ": "h",
    ]

    public static func make(_ text: String, maxLength: Int = defaultMaxLength) -> String {
        var out = ""
        var pendingDash = false
        if text.utf8.allSatisfy({ $0 < 0x80 }) {
            // ASCII (most phrases): nothing to decompose, no marks, nothing to spell out. Built
            // as bytes: an export names thousands of files.
            var bytes: [UInt8] = []
            bytes.reserveCapacity(text.utf8.count)
            for byte in text.utf8 where byte != UInt8(ascii: "'") {
                let lower = byte | 0x20
                guard (lower >= UInt8(ascii: "a") && lower <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) else {
                    pendingDash = true
                    continue
                }
                if pendingDash && !bytes.isEmpty { bytes.append(UInt8(ascii: "-")) }
                pendingDash = false
                bytes.append(byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? lower : byte)
            }
            if bytes.count > maxLength {
                return bounded(String(decoding: bytes, as: UTF8.self), maxLength: maxLength)
            }
            return bytes.isEmpty ? fallback : String(decoding: bytes, as: UTF8.self)
        }
        for scalar in text.decomposedStringWithCanonicalMapping.unicodeScalars {
            switch scalar.properties.generalCategory {
            case .nonspacingMark, .spacingMark, .enclosingMark: continue
            default: break
            }
            if scalar == "'" || scalar == "\u{2019}" { continue }
            let piece: String
            if scalar.isASCII, scalar.properties.isAlphabetic || ("0"..."9").contains(scalar) {
                piece = String(scalar).lowercased()
            } else if let spelled = spelled[scalar] {
                piece = spelled
            } else {
                pendingDash = true
                continue
            }
            if pendingDash && !out.isEmpty { out += "-" }
            pendingDash = false
            out += piece
        }
        return bounded(out, maxLength: maxLength)
    }

    private static func bounded(_ slug: String, maxLength: Int) -> String {
        var out = slug
        if out.count > maxLength {
            var cut = String(out.prefix(maxLength))
            // End at a word boundary when one is in the second half, so words are not split.
            if let dash = cut.lastIndex(of: "-"), cut.distance(from: cut.startIndex, to: dash) >= maxLength / 2 {
                cut = String(cut[..<dash])
            }
            out = cut
            while out.hasSuffix("-") { out.removeLast() }
        }
        return out.isEmpty ? fallback : out
    }
}

/// Keeps exported names inside the export folder and readable by every tool.
enum SafePath {
    /// Longest file name component in bytes (Linux allows 255; leave room for `-NN` suffixes).
    static let maxComponentBytes = 200

    /// A substituted value: may not add folders, so `/` and `\` become `_`; control and format
    /// characters (NUL, newlines, bidi overrides) are dropped.
    static func value(_ text: String) -> String {
        if text.utf8.allSatisfy({ isPlainASCII($0) }) { return text }
        var out = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            if isInvisible(scalar) { continue }
            out.append(scalar == "/" || scalar == "\\" ? "_" : scalar)
        }
        return String(out)
    }

    /// A whole relative path: split on `/`, empty components dropped (so a leading `/` cannot
    /// make it absolute), `.`/`..` and leading dots neutralised, each component bounded.
    static func relativePath(_ path: String) -> String {
        if isPlainComponent(path) { return path }
        var components: [String] = []
        for raw in path.split(separator: "/", omittingEmptySubsequences: true) {
            var component: String
            if raw.utf8.allSatisfy({ isPlainASCII($0) }) {
                // Printable ASCII without `\\`: only spaces at the ends can change.
                component = String(raw)
                if raw.utf8.first == 0x20 || raw.utf8.last == 0x20 { component = component.trimmingCharacters(in: .whitespaces) }
            } else {
                var scalars = String.UnicodeScalarView()
                for scalar in raw.unicodeScalars where !isInvisible(scalar) {
                    scalars.append(scalar == "\\" ? "_" : scalar)
                }
                component = String(scalars).trimmingCharacters(in: .whitespaces)
            }
            if component.isEmpty { continue }
            // A leading dot hides the file, and `.`/`..` walk the tree.
            if component.hasPrefix(".") { component = "_" + component.dropFirst() }
            components.append(bounded(component))
        }
        return components.isEmpty ? Slug.fallback : components.joined(separator: "/")
    }

    /// One component that every rule of `relativePath` leaves as it is (most rendered names):
    /// printable ASCII without `/` or `\\`, no space at either end, no leading dot, not too long.
    private static func isPlainComponent(_ path: String) -> Bool {
        let bytes = path.utf8
        guard let first = bytes.first, let last = bytes.last, first != 0x20, last != 0x20, first != UInt8(ascii: "."),
              bytes.count <= maxComponentBytes else { return false }
        return bytes.allSatisfy { isPlainASCII($0) }
    }

    /// Whether a path read from a manifest is one this exporter could have written.
    static func isSafeRelativePath(_ path: String) -> Bool {
        !path.isEmpty && relativePath(path) == path
    }

    /// Printable ASCII other than `/` and `\\`: a byte every rule here leaves as it is.
    private static func isPlainASCII(_ byte: UInt8) -> Bool {
        byte >= 0x20 && byte < 0x7F && byte != UInt8(ascii: "/") && byte != UInt8(ascii: "\\")
    }

    private static func isInvisible(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.properties.generalCategory {
        case .control, .format, .lineSeparator, .paragraphSeparator: return true
        default: return false
        }
    }

    /// Shortens a component to `maxComponentBytes` of UTF-8, keeping its extension.
    private static func bounded(_ component: String) -> String {
        guard component.utf8.count > maxComponentBytes else { return component }
        let (stem, ext) = splitExtension(component)
        var kept = ""
        var budget = maxComponentBytes - ext.utf8.count
        for character in stem {
            let size = String(character).utf8.count
            if size > budget { break }
            budget -= size
            kept.append(character)
        }
        return kept + ext
    }

    /// `("name", ".wav")`; a leading dot does not start an extension.
    static func splitExtension(_ component: String) -> (String, String) {
        guard let dot = component.lastIndex(of: "."), dot != component.startIndex,
              component.distance(from: dot, to: component.endIndex) <= 10 else { return (component, "") }
        return (String(component[..<dot]), String(component[dot...]))
    }
}

/// Gives each export item its file name, and makes names unique: two items whose names would
/// be equal, also ignoring case (exFAT, macOS and Windows folders do), get `-2`, `-3`, … in
/// key order, so the result depends only on the set of items, not on listing order. The same
/// clip asked twice under the same name is written once.
public enum FileNamer {
    public struct Named: Sendable, Equatable {
        public var item: ExportItem
        /// Relative to the export folder, `/`-separated.
        public var path: String
    }

    /// `reserved` holds names the exporter itself uses (`manifest.csv`, …), lowercased.
    public static func assign(_ items: [ExportItem], template: FileNameTemplate,
                              reserved: Set<String> = []) -> [Named] {
        var named = items.map { Named(item: $0, path: template.render($0)) }
        let lowered = named.map { $0.path.lowercased() }
        // Each name (ignoring case) and the first item holding it; the names held by more than
        // one item are collected apart (rare), so the common case is one hash per item.
        var holder: [String: Int] = [:]
        holder.reserveCapacity(named.count)
        var shared: [String: [Int]] = [:]
        for i in named.indices {
            if let first = holder.updateValue(i, forKey: lowered[i]) {
                holder[lowered[i]] = first
                shared[lowered[i], default: [first]].append(i)
            }
        }
        // Same clip, same name: keep the first (the lowest n).
        var dropped = Set<Int>()
        for (name, members) in shared {
            var seen = Set<String>()
            let kept = members.filter { i in
                let unique = seen.insert(named[i].item.clip.key.hex + "\u{1F}" + named[i].path).inserted
                if !unique { dropped.insert(i) }
                return unique
            }
            shared[name] = kept
        }
        for name in reserved where holder[name] != nil && shared[name] == nil { shared[name] = [holder[name]!] }

        var taken = Set<String>()
        func isTaken(_ lowercased: String) -> Bool {
            holder[lowercased] != nil || reserved.contains(lowercased) || taken.contains(lowercased)
        }
        // Only names held by more than one item, or reserved, get suffixes; the order they are
        // handled in is the sorted order, so the result depends only on the set of items.
        for name in shared.keys.filter({ shared[$0]!.count > 1 || reserved.contains($0) }).sorted() {
            let members = shared[name]!.sorted {
                let a = named[$0], b = named[$1]
                return (a.item.clip.key.hex, a.path, a.item.n) < (b.item.clip.key.hex, b.path, b.item.n)
            }
            // A reserved name has no rightful owner; otherwise the lowest key keeps the name.
            let start = reserved.contains(name) ? 0 : 1
            var suffix = 2
            for index in members.dropFirst(start) {
                var candidate: String
                repeat {
                    candidate = withSuffix(named[index].path, suffix)
                    suffix += 1
                } while isTaken(candidate.lowercased())
                taken.insert(candidate.lowercased())
                named[index].path = candidate
            }
        }
        if dropped.isEmpty { return named }
        return named.indices.filter { !dropped.contains($0) }.map { named[$0] }
    }

    /// `a/b/name.wav` → `a/b/name-2.wav`.
    static func withSuffix(_ path: String, _ n: Int) -> String {
        var components = path.split(separator: "/").map(String.init)
        let (stem, ext) = SafePath.splitExtension(components.removeLast())
        return (components + ["\(stem)-\(n)\(ext)"]).joined(separator: "/")
    }
}
