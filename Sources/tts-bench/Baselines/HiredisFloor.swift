import CHiredis
import Foundation
import Glibc
import TTSCore

/// The floors of a Redis-tier hit, raw C calls only on a connection made once: one hiredis GET
/// of the clip's bytes then writing them to a new file (open/write/close), and the steps of a
/// one-trip hit (GETEX of the clip's value, SHA-256 of its audio, the write).
///
/// `durable` adds what the local tier does for crash safety (fsync of the file before it is
/// named; the folder is not synced, see BlobStore), for the informational comparison.
final class HiredisFloor {
    private let context: UnsafeMutablePointer<redisContext>

    init(host: String, port: Int) throws {
        guard let context = redisConnect(host, Int32(port)) else { throw HarnessError("hiredis: out of memory") }
        guard context.pointee.err == 0 else {
            let reason = withUnsafeBytes(of: context.pointee.errstr) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            redisFree(context)
            throw HarnessError("hiredis floor: cannot connect to \(host):\(port): \(reason)")
        }
        self.context = context
    }

    deinit { redisFree(context) }

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

    private func write(_ bytes: UnsafeRawPointer, count length: Int, to path: UnsafePointer<CChar>, durable: Bool) -> Int {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o444)
        guard fd >= 0 else { return -1 }
        var offset = 0
        while offset < length {
            let n = Glibc.write(fd, bytes + offset, length - offset)
            if n <= 0 { close(fd); return -1 }
            offset += n
        }
        if durable { fsync(fd) }
        close(fd)
        return length
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
