import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Lines entered before, newest last: bounded, without consecutive duplicates, and without
/// the lines a caller-supplied predicate excludes (so a command that carries a secret never
/// reaches memory or disk, as redis-cli does for AUTH).
///
/// With a file, history is loaded at start and each new line is appended to it with one
/// `write` (so two sessions appending to one file interleave whole lines, not bytes); when
/// the file grows well past the limit it is rewritten to the newest `limit` lines through a
/// temporary file and a rename, so a crash never leaves it half-written. The file is private:
/// mode 0600, created so and re-set on files that exist.
///
///     let history = History(limit: 1000, file: url, excludes: { $0.hasPrefix("key ") })
///     history.add("say hello")
public final class History: @unchecked Sendable {
    public let limit: Int
    public let file: URL?
    private let excludes: @Sendable (String) -> Bool
    /// Guards `entries`, `appendedSinceRewrite` and `lastError`.
    private let lock = NSLock()
    private var entries: [String] = []
    private var appendedSinceRewrite = 0
    private var _lastError: String?

    public init(limit: Int = 1000, file: URL? = nil,
                excludes: @escaping @Sendable (String) -> Bool = { _ in false }) {
        self.limit = max(limit, 0)
        self.file = file
        self.excludes = excludes
        load()
    }

    /// Oldest first.
    public var lines: [String] { lock.withLock { entries } }

    /// Why the last file operation failed, if it did. History keeps working in memory then;
    /// the owner may show this once.
    public var lastError: String? { lock.withLock { _lastError } }

    /// Adds `line` unless it is blank, excluded, or the same as the newest entry. Line breaks
    /// become spaces: the file holds one entry per line.
    public func add(_ line: String) {
        let line = String(line.map { $0.isNewline ? " " : $0 })
        guard !line.allSatisfy(\.isWhitespace), !excludes(line), limit > 0 else { return }
        lock.withLock {
            guard entries.last != line else { return }
            entries.append(line)
            if entries.count > limit { entries.removeFirst(entries.count - limit) }
            guard let file else { return }
            record(Self.write(line + "\n", to: file.path, flags: O_CREAT | O_APPEND))
            appendedSinceRewrite += 1
            if appendedSinceRewrite >= max(limit / 2, 1) { rewrite(file) }
        }
    }

    private func load() {
        guard let file else { return }
        guard let data = FileManager.default.contents(atPath: file.path) else { return }
        chmod(file.path, 0o600)
        var loaded: [String] = []
        for line in String(decoding: data, as: UTF8.self).split(separator: "\n") {
            let line = String(line)
            if line.allSatisfy(\.isWhitespace) || excludes(line) || loaded.last == line { continue }
            loaded.append(line)
        }
        let overLimit = loaded.count > limit
        if overLimit { loaded.removeFirst(loaded.count - limit) }
        lock.withLock {
            entries = loaded
            if overLimit { rewrite(file) }
        }
    }

    /// Caller holds `lock`. Merges what other sessions appended since we loaded, keeping the
    /// newest `limit` lines, then replaces the file atomically.
    private func rewrite(_ file: URL) {
        appendedSinceRewrite = 0
        var merged: [String] = []
        if let data = FileManager.default.contents(atPath: file.path) {
            for line in String(decoding: data, as: UTF8.self).split(separator: "\n")
            where merged.last != String(line) && !excludes(String(line)) {
                merged.append(String(line))
            }
        }
        if merged.isEmpty { merged = entries }
        if merged.count > limit { merged.removeFirst(merged.count - limit) }
        let temp = file.path + ".tmp.\(getpid())"
        let text = merged.map { $0 + "\n" }.joined()
        if let error = Self.write(text, to: temp, flags: O_CREAT | O_TRUNC, sync: true) {
            record(error)
        } else if rename(temp, file.path) != 0 {
            record("could not replace the history file \(file.path): \(String(cString: strerror(errno))); history is kept in memory only")
            unlink(temp)
        }
    }

    private func record(_ error: String?) {
        if let error { _lastError = error }
    }

    /// Writes `text` with one `write` call to a file opened (or created) with mode 0600.
    private static func write(_ text: String, to path: String, flags: Int32, sync: Bool = false) -> String? {
        let fd = open(path, O_WRONLY | O_CLOEXEC | flags, 0o600)
        guard fd >= 0 else {
            return "could not open the history file \(path): \(String(cString: strerror(errno))); check the directory exists and is writable"
        }
        defer { close(fd) }
        fchmod(fd, 0o600)
        let bytes = Array(text.utf8)
        let written = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        guard written == bytes.count else {
            return "could not write the history file \(path): \(String(cString: strerror(errno))); is the disk full?"
        }
        if sync { fsync(fd) }
        return nil
    }
}
