import Foundation
import TTSCore

/// What could be read back from a damaged index.
public struct SalvagedRows: Sendable {
    public var clips: [Clip]
    /// Keys of the salvaged clips that were pinned.
    public var pinned: Set<RequestKey>
    /// Key ranges (by leading hex digits) whose rows could not be read: lost with their page.
    public var unreadableRanges: [String]
}

/// Checking the SQLite file itself, and rebuilding it from what can still be read. A page
/// overwritten on disk can leave a file that opens and answers most queries (a scan of the
/// table may even pass) while `PRAGMA integrity_check` fails and some look-ups throw
/// SQLITE_CORRUPT; rebuilding copies every readable row into a fresh file.
extension ClipIndex {
    /// `PRAGMA integrity_check`: an empty list when the file is sound, else SQLite's findings
    /// (at most `limit`). Throws when the file cannot be checked at all.
    public func integrityCheck(limit: Int = 20) throws -> [String] {
        try withDatabase { database, _ in
            let findings = try database.prepare("PRAGMA integrity_check(\(max(1, limit)))").rows { $0.text(at: 0) }
            return findings == ["ok"] ? [] : findings
        }
    }

    /// Every row that can still be read: the whole table when one scan gets through, else key
    /// range by key range (256 ranges by the first two hex digits, each split by the third
    /// when it fails), so a damaged page costs only the rows on it.
    public func salvageRows() -> SalvagedRows {
        var rows = SalvagedRows(clips: [], pinned: [], unreadableRanges: [])
        rows.pinned = Set((try? withDatabase { database, _ in
            try database.prepare("SELECT key FROM clips WHERE pinned = 1").rows { RequestKey(hex: $0.text(at: 0)) }
        })?.compactMap { $0 } ?? [])
        if let all = try? allClips() {
            rows.clips = all
            return rows
        }
        let hex = Array("0123456789abcdef")
        for a in hex {
            for b in hex {
                let prefix = String([a, b])
                if let clips = try? clips(withKeysFrom: prefix) {
                    rows.clips += clips
                    continue
                }
                for c in hex {
                    let finer = prefix + String(c)
                    if let clips = try? clips(withKeysFrom: finer) { rows.clips += clips } else { rows.unreadableRanges.append(finer) }
                }
            }
        }
        return rows
    }

    /// Rows whose key starts with `prefix` (a key range, so only the pages it spans are read).
    private func clips(withKeysFrom prefix: String) throws -> [Clip] {
        let upper = prefix + String(repeating: "g", count: 64 - prefix.count)
        return try withDatabase { database, _ in
            try database.prepare("SELECT \(ClipIndex.columns) FROM clips WHERE key >= ?1 AND key < ?2 ORDER BY key")
                .rows([.text(prefix), .text(upper)], decodeClip)
        }
    }

    /// Replaces the index file with a new one holding `rows`, keeping the damaged file (and its
    /// -wal and -shm) aside as `<name>.damaged-<unix time>`; this instance then uses the new
    /// file. Other processes must not have the index open meanwhile. Returns where the damaged
    /// file went.
    public func rebuild(with rows: SalvagedRows) throws -> URL {
        let fresh = url.appendingPathExtension("rebuilding")
        let fileManager = FileManager.default
        for suffix in ["", "-wal", "-shm"] { try? fileManager.removeItem(atPath: fresh.path + suffix) }
        let rebuilt = try ClipIndex(url: fresh, busyTimeoutMs: busyTimeoutMs)
        try rebuilt.upsert(rows.clips)
        for key in rows.pinned { try rebuilt.setPinned(key, true) }
        rebuilt.close()

        let damaged = URL(fileURLWithPath: url.path + ".damaged-\(Int(Date().timeIntervalSince1970))")
        close()
        do {
            for suffix in ["", "-wal", "-shm"] where fileManager.fileExists(atPath: url.path + suffix) {
                try fileManager.moveItem(atPath: url.path + suffix, toPath: damaged.path + suffix)
            }
            try fileManager.moveItem(at: fresh, to: url)
        } catch {
            throw TTSError.store("the rebuilt index is at \(fresh.path) but could not replace \(url.path): \(FileSystemReason.describe(error, path: url.path)). Stop other tts-repl processes, move \(url.path) aside and rename \(fresh.lastPathComponent) to \(url.lastPathComponent).")
        }
        try reopen()
        generation.advance()
        return damaged
    }
}
