import CLibcrypto
import Foundation

/// SHA-256 (FIPS 180-4) from OpenSSL's libcrypto (its SHA-NI/AVX2 code, picked for this CPU at
/// run time), which tts-repl loads anyway through libcurl.
///
/// It replaced a hand-written SHA-NI block function and portable Swift code (issue 13 §5): in
/// the same `make bench` run, libcrypto was as fast on an 88 KB clip and twice as fast on a
/// 64-byte request key (see bench/NOTES.md).
///
/// Names blobs (the hash of the WAV bytes) and request keys (the hash of the canonical
/// request). Streaming: feed any number of `update` calls, then `finalize()` once. A hasher is
/// a value: a copy forks the stream (the EVP context is copied on write).
///
/// ```swift
/// SHA256.hash(Data("abc".utf8)).hex  // "ba7816bf…f20015ad"
/// ```
public struct SHA256: Sendable {
    private var context = Context()

    public init() {}

    public static func hash(_ data: Data) -> SHA256Digest {
        data.withUnsafeBytes { digest(of: $0) }
    }

    public static func hash(_ bytes: [UInt8]) -> SHA256Digest {
        bytes.withUnsafeBytes { digest(of: $0) }
    }

    public static func hash(_ string: String) -> SHA256Digest {
        hash(Data(string.utf8))
    }

    public mutating func update(_ data: Data) {
        data.withUnsafeBytes { update($0) }
    }

    public mutating func update(_ input: UnsafeRawBufferPointer) {
        guard let base = input.baseAddress, input.count > 0 else { return }
        if !isKnownUniquelyReferenced(&context) { context = Context(copying: context) }
        Context.check(EVP_DigestUpdate(context.pointer, base, input.count), "EVP_DigestUpdate")
    }

    public consuming func finalize() -> SHA256Digest {
        // Finishing ends the context's stream, so a context shared with a copy is copied first.
        if !isKnownUniquelyReferenced(&context) { context = Context(copying: context) }
        var out = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        Context.check(EVP_DigestFinal_ex(context.pointer, &out, &length), "EVP_DigestFinal_ex")
        return SHA256Digest(bytes: out)
    }

    /// One call for a whole buffer: `EVP_Digest` on the algorithm fetched once.
    private static func digest(of input: UnsafeRawBufferPointer) -> SHA256Digest {
        var out = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        // No bytes may come with no address: libcrypto reads nothing when the count is 0.
        Context.check(EVP_Digest(input.baseAddress, input.count, &out, &length, Context.algorithm, nil), "EVP_Digest")
        return SHA256Digest(bytes: out)
    }

    /// An EVP digest context, owned by one hasher (or shared by copies until one writes).
    private final class Context: @unchecked Sendable {
        /// libcrypto's SHA-256, fetched once: an implicit fetch on every initialisation costs
        /// more than hashing a request key. Immutable and safe to share between threads.
        nonisolated(unsafe) static let algorithm: OpaquePointer? = EVP_MD_fetch(nil, "SHA256", nil) ?? EVP_sha256()

        let pointer: OpaquePointer

        init() {
            pointer = Context.make()
            Context.check(EVP_DigestInit_ex2(pointer, Context.algorithm, nil), "EVP_DigestInit_ex2")
        }

        init(copying other: Context) {
            pointer = Context.make()
            Context.check(EVP_MD_CTX_copy_ex(pointer, other.pointer), "EVP_MD_CTX_copy_ex")
        }

        deinit { EVP_MD_CTX_free(pointer) }

        private static func make() -> OpaquePointer {
            guard let context = EVP_MD_CTX_new() else { fatalError("libcrypto could not allocate a digest context (out of memory)") }
            return context
        }

        /// libcrypto's SHA-256 fails only when memory runs out or its installation is broken;
        /// neither leaves a digest to return.
        static func check(_ status: Int32, _ call: String) {
            if status != 1 { fatalError("libcrypto's \(call) failed for SHA-256: the OpenSSL installation is broken") }
        }
    }
}

/// A SHA-256 value: 32 bytes, shown as 64 lowercase hex characters.
public struct SHA256Digest: Sendable, Hashable {
    public let bytes: [UInt8]

    public init(bytes: [UInt8]) {
        precondition(bytes.count == 32, "a SHA-256 digest is 32 bytes")
        self.bytes = bytes
    }

    public var hex: String {
        let digits: [UInt8] = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(64)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
