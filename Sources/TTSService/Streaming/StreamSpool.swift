import Dispatch
import Foundation
import TTSConcurrency
import TTSCore

/// The temporary file a streamed generation is teed into, next to the store's other half-written
/// files (`<store>/tmp/`, which `gc` sweeps after a crash).
///
/// Writes are queued on the spool's own serial queue and never awaited by the stream, so a slow
/// disk does not delay anyone's audio; `contents()` waits for them and reports the first write
/// that failed. The file is always removed (`discard`): a complete clip goes through the store's
/// own write path (hashed, flushed, renamed), and an incomplete one must leave nothing behind.
///
/// ```swift
/// let spool = try await StreamSpool.create(in: layout.tmpURL, for: key)
/// spool.append(pcm)                      // as each chunk arrives
/// let pcm = try await spool.contents()   // once the stream ended complete
/// await spool.discard()
/// ```
final class StreamSpool: @unchecked Sendable {
    // @unchecked: `descriptor` and `failure` are touched only on `queue`.
    private let queue = DispatchQueue(label: "tts-repl.stream-spool")
    private let path: String
    private var descriptor: Int32
    private var failure: TTSError?

    private init(path: String, descriptor: Int32) {
        self.path = path
        self.descriptor = descriptor
    }

    /// Opens a new temp file for `key` (the open runs off the cooperative pool).
    static func create(in folder: URL, for key: RequestKey) async throws -> StreamSpool {
        let path = folder.path + "/stream-\(key.hex).\(getpid()).\(UInt64.random(in: 0...UInt64.max)).part"
        return try await Blocking.run {
            let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
            guard fd >= 0 else {
                throw TTSError.store("cannot create the temporary file \(path) for a streamed clip: \(String(cString: strerror(errno))); check that the store folder is writable")
            }
            return StreamSpool(path: path, descriptor: fd)
        }
    }

    /// Queues `bytes` for writing at the end of the file.
    func append(_ bytes: Data) {
        queue.async { [self] in
            guard failure == nil, descriptor >= 0 else { return }
            let written = bytes.withUnsafeBytes { raw -> Bool in
                var offset = 0
                while offset < raw.count {
                    let n = write(descriptor, raw.baseAddress! + offset, raw.count - offset)
                    if n < 0 && errno == EINTR { continue }
                    guard n > 0 else { return false }
                    offset += n
                }
                return true
            }
            if !written {
                failure = TTSError.store("cannot write the temporary file \(path) for a streamed clip: \(String(cString: strerror(errno))); check the free space of the store's disk")
            }
        }
    }

    /// Everything appended, read back once the writes are done.
    func contents() async throws -> Data {
        try await withCheckedThrowingContinuation { continuation in
            queue.async { [self] in
                continuation.resume(with: Result {
                    if let failure { throw failure }
                    return try Data(contentsOf: URL(fileURLWithPath: path))
                })
            }
        }
    }

    /// Closes and removes the file, after any queued writes; returns once it is gone.
    func discard() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            queue.async { [self] in
                if descriptor >= 0 { close(descriptor) }
                descriptor = -1
                unlink(path)
                continuation.resume()
            }
        }
    }
}
