import CHiredis
import Foundation
import Glibc
import TTSCore

/// The floor of a Redis-tier hit: one hiredis GET of the clip's bytes on a connection made
/// once, then writing them to a new file with open/write/close — raw C calls only.
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
    ///
    /// With `requiredSteps`, adds what the issue asks of every Redis hit, each at its cheapest:
    /// first an HGETALL of `metadataKey` (the metadata names the blob, so it is a round trip of
    /// its own) and, before the write, the SHA-256 of the bytes (the same SHA-NI code the store
    /// uses). No WAV check, index row or thread hand-off: a floor no implementation can go under.
    func fetch(_ key: [UInt8], to path: UnsafePointer<CChar>, folder: UnsafePointer<CChar>, durable: Bool,
               requiredSteps metadataKey: [UInt8]? = nil) -> Int {
        if let metadataKey {
            guard let metadata = command(["HGETALL".utf8.map { $0 }, metadataKey]) else { return -1 }
            freeReplyObject(metadata)
        }
        guard let raw = command(["GET".utf8.map { $0 }, key]) else { return -1 }
        defer { freeReplyObject(raw) }
        let reply = raw.assumingMemoryBound(to: redisReply.self)
        guard reply.pointee.type == REDIS_REPLY_STRING, let bytes = reply.pointee.str else { return -1 }
        let length = Int(reply.pointee.len)
        if metadataKey != nil {
            var hasher = SHA256()
            hasher.update(UnsafeRawBufferPointer(start: bytes, count: length))
            guard !hasher.finalize().hex.isEmpty else { return -1 }
        }
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o444)
        guard fd >= 0 else { return -1 }
        var offset = 0
        while offset < length {
            let n = write(fd, bytes + offset, length - offset)
            if n <= 0 { close(fd); return -1 }
            offset += n
        }
        if durable { fsync(fd) }
        close(fd)
        return length
    }

    /// A two-word command (`GET key`, `HGETALL key`) through redisCommandArgv, pointing hiredis
    /// straight at the arrays' bytes; the caller frees the reply.
    private func command(_ arguments: [[UInt8]]) -> UnsafeMutableRawPointer? {
        precondition(arguments.count == 2)
        return arguments[0].withUnsafeBufferPointer { name in
            arguments[1].withUnsafeBufferPointer { keyBytes in
                var argv: [UnsafePointer<CChar>?] = [
                    UnsafeRawPointer(name.baseAddress!).assumingMemoryBound(to: CChar.self),
                    UnsafeRawPointer(keyBytes.baseAddress!).assumingMemoryBound(to: CChar.self),
                ]
                var lengths = [name.count, keyBytes.count]
                return redisCommandArgv(context, 2, &argv, &lengths)
            }
        }
    }
}
