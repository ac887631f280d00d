import CHiredis
import CSQLite
import Foundation
import Glibc
import TTSCore
import TTSStore

/// The floors of a Redis-tier hit, raw C calls only on a connection made once: one hiredis GET
/// of the clip's bytes then writing them to a new file (open/write/close), and the steps of a
/// one-trip hit (GETEX of the clip's value, SHA-256 of its audio, the write).
///
/// `durable` adds what the local tier does for crash safety (fsync of the file before it is
/// named; the folder is not synced, see BlobStore), for the informational comparison.
final class HiredisFloor {
    private let context: UnsafeMutablePointer<redisContext>

    /// The canonical request of the value being checked, rebuilt in place for each hit.
    private let canonicalCapacity = 1 << 16
    private let canonical: UnsafeMutablePointer<UInt8>

    init(host: String, port: Int) throws {
        canonical = .allocate(capacity: 1 << 16)
        guard let context = redisConnect(host, Int32(port)) else { throw HarnessError("hiredis: out of memory") }
        guard context.pointee.err == 0 else {
            let reason = withUnsafeBytes(of: context.pointee.errstr) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            redisFree(context)
            throw HarnessError("hiredis floor: cannot connect to \(host):\(port): \(reason)")
        }
        self.context = context
    }

    deinit {
        redisFree(context)
        canonical.deallocate()
    }

    /// GET `key` and write the value to `path` (which must not exist). Returns the bytes written,
    /// or -1 when the key is missing or a call failed.
    func fetch(_ key: [UInt8], to path: UnsafePointer<CChar>, durable: Bool = false) -> Int {
        guard let raw = command(["GET".utf8.map { $0 }, key]) else { return -1 }
        defer { freeReplyObject(raw) }
        let reply = raw.assumingMemoryBound(to: redisReply.self)
        guard reply.pointee.type == REDIS_REPLY_STRING, let bytes = reply.pointee.str else { return -1 }
        return write(UnsafeRawPointer(bytes), count: Int(reply.pointee.len), to: path, durable: durable)
    }

    /// The steps a one-trip shared-tier hit must take, each at its cheapest: GETEX of the clip's
    /// value (metadata + audio, expiry refreshed), SHA-256 of the audio part (the same SHA-NI
    /// code the store uses), writing the audio to `path`. No metadata or WAV check, index row
    /// or thread hand-off: a floor no implementation can go under. Returns the audio bytes
    /// written, or -1.
    func fetchOneTrip(_ key: [UInt8], ttl: [UInt8], to path: UnsafePointer<CChar>) -> Int {
        guard let raw = command(["GETEX".utf8.map { $0 }, key, "EX".utf8.map { $0 }, ttl]) else { return -1 }
        defer { freeReplyObject(raw) }
        let reply = raw.assumingMemoryBound(to: redisReply.self)
        guard reply.pointee.type == REDIS_REPLY_STRING, let bytes = reply.pointee.str, reply.pointee.len >= 5 else { return -1 }
        let value = UnsafeRawPointer(bytes).assumingMemoryBound(to: UInt8.self)
        let metadata = Int(value[1]) << 24 | Int(value[2]) << 16 | Int(value[3]) << 8 | Int(value[4])
        let start = 5 + metadata, length = Int(reply.pointee.len) - start
        guard length > 0 else { return -1 }
        var hasher = SHA256()
        hasher.update(UnsafeRawBufferPointer(start: value + start, count: length))
        guard !hasher.finalize().hex.isEmpty else { return -1 }
        return write(UnsafeRawPointer(value + start), count: length, to: path, durable: false)
    }

    /// The steps a one-trip hit must take with the checks the product owes, each at its
    /// cheapest, in raw C on one thread: GETEX of the value; its metadata walked in place; the
    /// request key recomputed from the metadata (SHA-256 of the canonical request) and compared
    /// with the key asked for; the WAV header checked against the metadata (format, size,
    /// duration); SHA-256 of the audio compared with the blob the metadata names; the file
    /// written unnamed (O_TMPFILE) and linked to its name only once whole, so no torn file ever
    /// carries a blob's name and an existing file is never replaced; and the index row
    /// (`index`: is a durable row naming the blob there, then the upsert). No thread hand-off:
    /// what a hit with its required checks cannot go under. Returns the audio bytes written, or
    /// -1 when a step failed or a check refused the entry.
    func fetchOneTripChecked(_ key: [UInt8], requestKey: SHA256Digest, keyHex: [UInt8], ttl: [UInt8],
                             to path: UnsafePointer<CChar>, folder: UnsafePointer<CChar>, index: FloorIndex) -> Int {
        guard let raw = command(["GETEX".utf8.map { $0 }, key, "EX".utf8.map { $0 }, ttl]) else { return -1 }
        defer { freeReplyObject(raw) }
        let reply = raw.assumingMemoryBound(to: redisReply.self)
        guard reply.pointee.type == REDIS_REPLY_STRING, let str = reply.pointee.str, reply.pointee.len >= 5 else { return -1 }
        let value = UnsafeRawPointer(str).assumingMemoryBound(to: UInt8.self)
        let count = Int(reply.pointee.len)
        guard value[0] == 1 else { return -1 }
        guard let fields = ValueFields(value, count: count) else { return -1 }

        // The request key, recomputed from the metadata.
        guard fields.canonicalRequest(into: canonical, capacity: canonicalCapacity).map({ length in
            var hasher = SHA256()
            hasher.update(UnsafeRawBufferPointer(start: canonical, count: length))
            return hasher.finalize() == requestKey
        }) == true else { return -1 }

        // The WAV header against the metadata.
        let audio = value + fields.audioStart, length = count - fields.audioStart
        guard length == fields.bytes,
              let header = FloorWAVHeader(audio, count: length),
              header.rate == fields.sampleRate, header.channels == fields.channels,
              abs(header.durationMs - fields.durationMs) <= 1 else { return -1 }

        // The audio's hash against the blob it is named by.
        var hasher = SHA256()
        hasher.update(UnsafeRawBufferPointer(start: audio, count: length))
        guard fields.blobMatches(hasher.finalize()) else { return -1 }

        // Written unnamed, then named whole.
        // O_TMPFILE is a macro Swift does not import: __O_TMPFILE (0o20000000 on Linux) | O_DIRECTORY.
        let fd = open(folder, 0o20000000 | O_DIRECTORY | O_WRONLY | O_CLOEXEC, 0o444)
        guard fd >= 0 else { return -1 }
        guard writeAll(fd, audio, count: length) else { close(fd); return -1 }
        // Named through /proc/self/fd/N: linkat with AT_EMPTY_PATH would need CAP_DAC_READ_SEARCH.
        let linked = "/proc/self/fd/\(fd)".withCString { linkat(AT_FDCWD, $0, AT_FDCWD, path, AT_SYMLINK_FOLLOW) }
        close(fd)
        guard linked == 0 else { return -1 }

        // The index row.
        guard keyHex.withUnsafeBufferPointer({ index.storeRow(fields, value: value, keyHex: $0) }) else { return -1 }
        return length
    }

    private func write(_ bytes: UnsafeRawPointer, count length: Int, to path: UnsafePointer<CChar>, durable: Bool) -> Int {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o444)
        guard fd >= 0 else { return -1 }
        guard writeAll(fd, bytes, count: length) else { close(fd); return -1 }
        if durable { fsync(fd) }
        close(fd)
        return length
    }

    private func writeAll(_ fd: Int32, _ bytes: UnsafeRawPointer, count length: Int) -> Bool {
        var offset = 0
        while offset < length {
            let n = Glibc.write(fd, bytes + offset, length - offset)
            if n <= 0 { return false }
            offset += n
        }
        return true
    }

    /// A PING, its reply dropped (wakes the server before a pass).
    func ping() {
        if let raw = command(["PING".utf8.map { $0 }]) { freeReplyObject(raw) }
    }

    /// A command (`GET key`, `GETEX key EX seconds`) through redisCommandArgv, pointing hiredis
    /// straight at one buffer holding the arguments; the caller frees the reply.
    private func command(_ arguments: [[UInt8]]) -> UnsafeMutableRawPointer? {
        let joined = arguments.flatMap { $0 }
        return joined.withUnsafeBufferPointer { buffer in
            var argv: [UnsafePointer<CChar>?] = []
            var lengths: [Int] = []
            var offset = 0
            for argument in arguments {
                argv.append(UnsafeRawPointer(buffer.baseAddress! + offset).assumingMemoryBound(to: CChar.self))
                lengths.append(argument.count)
                offset += argument.count
            }
            return redisCommandArgv(context, Int32(arguments.count), &argv, &lengths)
        }
    }
}

/// The metadata of a clip's value (`SharedClipValue`, version 1) walked in place: where each
/// field's bytes are, and the numbers parsed. No strings, no dictionary.
struct ValueFields {
    typealias Span = (start: Int, count: Int)
    let base: UnsafePointer<UInt8>
    var engine: Span = (0, 0), model: Span = (0, 0), voice: Span = (0, 0), language: Span = (0, 0)
    var text: Span = (0, 0), style: Span = (0, 0), speakers: Span = (0, 0), blob: Span = (0, 0)
    var bytes = -1, durationMs = -1, sampleRate = -1, channels = 1, created = -1
    let audioStart: Int

    init?(_ value: UnsafePointer<UInt8>, count: Int) {
        base = value
        let metadata = Int(value[1]) << 24 | Int(value[2]) << 16 | Int(value[3]) << 8 | Int(value[4])
        guard metadata <= count - 5 else { return nil }
        audioStart = 5 + metadata
        var offset = 5
        while offset < audioStart {
            let nameLength = Int(value[offset])
            guard offset + 1 + nameLength + 4 <= audioStart else { return nil }
            let name = UnsafeBufferPointer(start: value + offset + 1, count: nameLength)
            let at = offset + 1 + nameLength
            let length = Int(value[at]) << 24 | Int(value[at + 1]) << 16 | Int(value[at + 2]) << 8 | Int(value[at + 3])
            let start = at + 4
            guard length <= audioStart - start else { return nil }
            let span: Span = (start, length)
            switch nameLength {
            case 4 where name.elementsEqual("blob".utf8): blob = span
            case 4 where name.elementsEqual("text".utf8): text = span
            case 5 where name.elementsEqual("bytes".utf8): bytes = ValueFields.number(value + start, length)
            case 5 where name.elementsEqual("voice".utf8): voice = span
            case 5 where name.elementsEqual("model".utf8): model = span
            case 5 where name.elementsEqual("style".utf8): style = span
            case 6 where name.elementsEqual("engine".utf8): engine = span
            case 7 where name.elementsEqual("created".utf8): created = ValueFields.number(value + start, length)
            case 8 where name.elementsEqual("language".utf8): language = span
            case 8 where name.elementsEqual("speakers".utf8): speakers = span
            case 8 where name.elementsEqual("channels".utf8): channels = ValueFields.number(value + start, length)
            case 11 where name.elementsEqual("duration_ms".utf8): durationMs = ValueFields.number(value + start, length)
            case 11 where name.elementsEqual("sample_rate".utf8): sampleRate = ValueFields.number(value + start, length)
            default: break
            }
            offset = start + length
        }
        guard blob.count == 64, bytes >= 0, durationMs >= 0, sampleRate > 0, created >= 0 else { return nil }
    }

    static func number(_ digits: UnsafePointer<UInt8>, _ count: Int) -> Int {
        guard count > 0, count < 19 else { return -1 }
        var n = 0
        for i in 0..<count {
            let d = Int(digits[i]) - 48
            guard d >= 0, d <= 9 else { return -1 }
            n = n * 10 + d
        }
        return n
    }

    /// `RequestKey.canonicalForm` from the fields, into `buffer`; its length, or nil when it
    /// does not fit.
    func canonicalRequest(into buffer: UnsafeMutablePointer<UInt8>, capacity: Int) -> Int? {
        var length = 0
        func append(_ source: UnsafePointer<UInt8>, _ count: Int) -> Bool {
            guard length + count <= capacity else { return false }
            (buffer + length).update(from: source, count: count)
            length += count
            return true
        }
        func append(_ literal: StaticString) -> Bool { append(literal.utf8Start, literal.utf8CodeUnitCount) }
        func append(_ span: Span) -> Bool { append(base + span.start, span.count) }
        guard append("tts/v1"), append("\u{1F}"), append(engine), append("\u{1F}"), append(model), append("\u{1F}"),
              append(voice), append("\u{1F}"), append(language), append("\u{1F}"), append(text) else { return nil }
        if style.count > 0 { guard append("\u{1F}style="), append(style) else { return nil } }
        if speakers.count > 0 { guard append("\u{1F}speakers="), append(speakers) else { return nil } }
        return length
    }

    /// Whether the `blob` field is the lowercase hex of `digest`.
    func blobMatches(_ digest: SHA256Digest) -> Bool {
        func digit(_ nibble: UInt8) -> UInt8 { nibble < 10 ? 48 + nibble : 87 + nibble }
        let hex = base + blob.start
        for (i, byte) in digest.bytes.enumerated() where hex[2 * i] != digit(byte >> 4) || hex[2 * i + 1] != digit(byte & 15) {
            return false
        }
        return true
    }
}

/// A PCM WAV header read in place: RIFF/WAVE, the `fmt ` chunk, the `data` chunk's size.
struct FloorWAVHeader {
    let rate: Int, channels: Int, durationMs: Int

    init?(_ bytes: UnsafePointer<UInt8>, count: Int) {
        func le16(_ at: Int) -> Int { Int(bytes[at]) | Int(bytes[at + 1]) << 8 }
        func le32(_ at: Int) -> Int { le16(at) | le16(at + 2) << 16 }
        func tag(_ at: Int, _ text: StaticString) -> Bool { memcmp(bytes + at, text.utf8Start, 4) == 0 }
        guard count >= 12, tag(0, "RIFF"), tag(8, "WAVE") else { return nil }
        var offset = 12
        var format: (rate: Int, channels: Int, bits: Int)?
        while offset + 8 <= count {
            let size = le32(offset + 4), body = offset + 8
            guard size <= count - body else { return nil }
            if tag(offset, "fmt ") {
                guard size >= 16, le16(body) == 1 else { return nil }
                format = (le32(body + 4), le16(body + 2), le16(body + 14))
            } else if tag(offset, "data") {
                guard let format, format.bits == 16 || format.bits == 8 || format.bits == 24 || format.bits == 32,
                      format.channels > 0, format.rate > 0 else { return nil }
                let frame = format.channels * format.bits / 8
                guard size % frame == 0 else { return nil }
                rate = format.rate
                channels = format.channels
                durationMs = size / frame * 1000 / format.rate
                return
            }
            offset = body + size + (size & 1)
        }
        return nil
    }
}

/// The index row of the floor with the required checks, in raw sqlite3 on a file of its own:
/// the product's columns, with the indexes a hit's row must keep up to date for the product's
/// guarantees (the primary key; the blob, so a durable row naming it is found; last use, the
/// eviction order; rows not yet durable, for crash recovery), in WAL mode with
/// `synchronous = NORMAL` like the index; statements prepared once.
final class FloorIndex {
    private var database: OpaquePointer?
    private var probe: OpaquePointer?
    private var upsert: OpaquePointer?
    private var delete: OpaquePointer?

    init(path: String) throws {
        let schema = """
            PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;
            CREATE TABLE clips (key TEXT PRIMARY KEY NOT NULL, blob TEXT NOT NULL, text TEXT NOT NULL, voice TEXT NOT NULL,
                language TEXT NOT NULL, engine TEXT NOT NULL, model TEXT NOT NULL, style TEXT NOT NULL, bytes INTEGER NOT NULL,
                duration_ms INTEGER NOT NULL, sample_rate INTEGER NOT NULL, created_at REAL NOT NULL, last_used_at REAL NOT NULL,
                hits INTEGER NOT NULL, speakers TEXT NOT NULL, durable INTEGER NOT NULL) WITHOUT ROWID;
            CREATE INDEX clips_by_blob ON clips (blob);
            CREATE INDEX clips_by_last_used_at ON clips (last_used_at);
            CREATE INDEX clips_not_durable ON clips (key) WHERE durable = 0;
            """
        let upsertSQL = """
            INSERT INTO clips VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, 0, ?14, 0)
            ON CONFLICT (key) DO UPDATE SET blob = excluded.blob, last_used_at = excluded.last_used_at, durable = excluded.durable
            """
        let flags = UInt32(SQLITE_PREPARE_PERSISTENT)
        guard sqlite3_open(path, &database) == SQLITE_OK,
              sqlite3_exec(database, schema, nil, nil, nil) == SQLITE_OK,
              sqlite3_prepare_v3(database, "SELECT 1 FROM clips WHERE blob = ?1 AND durable = 1 LIMIT 1", -1, flags, &probe, nil) == SQLITE_OK,
              sqlite3_prepare_v3(database, upsertSQL, -1, flags, &upsert, nil) == SQLITE_OK,
              sqlite3_prepare_v3(database, "DELETE FROM clips WHERE key = ?1", -1, flags, &delete, nil) == SQLITE_OK else {
            let message = database.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            sqlite3_close(database)
            throw HarnessError("floor index: cannot set up \(path): \(message)")
        }
    }

    deinit {
        sqlite3_finalize(probe)
        sqlite3_finalize(upsert)
        sqlite3_finalize(delete)
        sqlite3_close(database)
    }

    /// Whether a durable row names the blob, then the row upserted (its fsync deferred, so
    /// `durable` 0). Every text bound in place from the value (SQLITE_STATIC: the reply
    /// outlives the step).
    func storeRow(_ fields: ValueFields, value: UnsafePointer<UInt8>, keyHex: UnsafeBufferPointer<UInt8>) -> Bool {
        func text(_ statement: OpaquePointer?, _ index: Int32, _ span: ValueFields.Span) -> Bool {
            UnsafeRawPointer(value + span.start).withMemoryRebound(to: CChar.self, capacity: max(span.count, 1)) {
                sqlite3_bind_text(statement, index, $0, Int32(span.count), nil) == SQLITE_OK
            }
        }
        defer { sqlite3_reset(probe); sqlite3_reset(upsert) }
        guard text(probe, 1, fields.blob) else { return false }
        let step = sqlite3_step(probe)
        guard step == SQLITE_DONE || step == SQLITE_ROW else { return false }
        var bound = keyHex.baseAddress!.withMemoryRebound(to: CChar.self, capacity: keyHex.count) {
            sqlite3_bind_text(upsert, 1, $0, Int32(keyHex.count), nil) == SQLITE_OK
        }
        bound = bound && text(upsert, 2, fields.blob)
        bound = bound && text(upsert, 3, fields.text) && text(upsert, 4, fields.voice) && text(upsert, 5, fields.language)
        bound = bound && text(upsert, 6, fields.engine) && text(upsert, 7, fields.model) && text(upsert, 8, fields.style)
        bound = bound && sqlite3_bind_int64(upsert, 9, Int64(fields.bytes)) == SQLITE_OK
            && sqlite3_bind_int64(upsert, 10, Int64(fields.durationMs)) == SQLITE_OK
            && sqlite3_bind_int64(upsert, 11, Int64(fields.sampleRate)) == SQLITE_OK
            && sqlite3_bind_double(upsert, 12, Double(fields.created)) == SQLITE_OK
            && sqlite3_bind_double(upsert, 13, Double(time(nil))) == SQLITE_OK
            && text(upsert, 14, fields.speakers)
        return bound && sqlite3_step(upsert) == SQLITE_DONE
    }

    /// Removes the row again (untimed, between iterations).
    func forget(_ keyHex: String) {
        let bytes = Array(keyHex.utf8)
        bytes.withUnsafeBufferPointer { buffer in
            buffer.baseAddress!.withMemoryRebound(to: CChar.self, capacity: buffer.count) {
                _ = sqlite3_bind_text(delete, 1, $0, Int32(buffer.count), nil)
            }
            _ = sqlite3_step(delete)
        }
        sqlite3_reset(delete)
    }
}

/// The one-trip floor on a Redis Cluster: a hiredis connection per master, each key sent
/// straight to the master that holds its slot (learned once, untimed, by asking each master:
/// the others answer MOVED). No slot map, redirection or pool: what a cluster hit's round trip
/// costs the server side, for telling the cluster's own cost from the client's.
final class ClusterFloor {
    private let floors: [HiredisFloor]
    private var owners: [[UInt8]: HiredisFloor] = [:]

    init(masters: [RedisNodeAddress]) throws {
        floors = try masters.map { try HiredisFloor(host: $0.host, port: $0.port) }
    }

    /// Finds the master holding `key` (its value must be there), using `scratch` as the file.
    func learnOwner(of key: [UInt8], ttl: [UInt8], scratch: String) throws {
        defer { unlink(scratch) }
        for floor in floors {
            let written = scratch.withCString { floor.fetchOneTrip(key, ttl: ttl, to: $0) }
            unlink(scratch)
            if written > 0 {
                owners[key] = floor
                return
            }
        }
        throw HarnessError("no master of the cluster holds \(String(decoding: key, as: UTF8.self))")
    }

    /// A PING to every master, as the cluster's hits have before their pass.
    func wakeMasters() {
        for floor in floors { floor.ping() }
    }

    /// `HiredisFloor.fetchOneTrip` on the master holding `key`; -1 for a key not learned.
    func fetchOneTrip(_ key: [UInt8], ttl: [UInt8], to path: UnsafePointer<CChar>) -> Int {
        owners[key]?.fetchOneTrip(key, ttl: ttl, to: path) ?? -1
    }
}
