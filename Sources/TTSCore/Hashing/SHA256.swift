import CSHA256
import Foundation

/// SHA-256 (FIPS 180-4), written here because the product takes no package dependencies.
///
/// Names blobs (the hash of the WAV bytes) and request keys (the hash of the canonical
/// request). Streaming: feed any number of `update` calls, then `finalize()` once.
///
/// ```swift
/// SHA256.hash(Data("abc".utf8)).hex  // "ba7816bf…f20015ad"
/// ```
public struct SHA256: Sendable {
    /// The SHA-256 compression function over whole 64-byte blocks (FIPS 180-4 §6.2.2): updates
    /// the eight state words H0…H7 in place from `count` blocks at `blocks`. The portable one is
    /// Swift; `hardwareBlockFunction` uses x86 SHA-NI (CSHA256) when the CPU has it. This type
    /// does the buffering, padding and digest for both, so they share one tested framing.
    public typealias BlockFunction = @Sendable (_ state: UnsafeMutablePointer<UInt32>, _ blocks: UnsafeRawPointer, _ count: Int) -> Void

    private var state: (UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32) =
        (0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19)
    /// The partial block: 64 bytes inline (eight words), so a hasher allocates nothing; keys
    /// are hashed on every hit.
    private var buffer: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0, 0)
    private var buffered = 0
    private var totalBytes: UInt64 = 0
    private var blockFunction: BlockFunction?

    /// A hasher on the fastest block function this CPU offers.
    public init() {
        blockFunction = SHA256.hardwareBlockFunction
    }

    /// The x86 SHA-NI block function, or nil when this CPU lacks the instructions (about 4×
    /// the portable code where it exists; checked once per process).
    public static let hardwareBlockFunction: BlockFunction? = {
        guard tts_sha256_hardware_available() == 1 else { return nil }
        return { (state: UnsafeMutablePointer<UInt32>, blocks: UnsafeRawPointer, count: Int) in
            tts_sha256_blocks(state, blocks.assumingMemoryBound(to: UInt8.self), count)
        }
    }()

    /// A hasher whose blocks go through `blockFunction` (nil: the portable Swift code).
    public init(blockFunction: BlockFunction?) {
        self.blockFunction = blockFunction
    }

    public static func hash(_ data: Data) -> SHA256Digest {
        var hasher = SHA256()
        hasher.update(data)
        return hasher.finalize()
    }

    public static func hash(_ data: Data, blockFunction: BlockFunction?) -> SHA256Digest {
        var hasher = SHA256(blockFunction: blockFunction)
        hasher.update(data)
        return hasher.finalize()
    }

    public static func hash(_ bytes: [UInt8]) -> SHA256Digest {
        var hasher = SHA256()
        bytes.withUnsafeBytes { hasher.update($0) }
        return hasher.finalize()
    }

    public static func hash(_ string: String) -> SHA256Digest {
        hash(Data(string.utf8))
    }

    public mutating func update(_ data: Data) {
        data.withUnsafeBytes { update($0) }
    }

    public mutating func update(_ input: UnsafeRawBufferPointer) {
        guard var base = input.baseAddress else { return }
        var remaining = input.count
        totalBytes &+= UInt64(remaining)
        if buffered > 0 {
            let take = min(64 - buffered, remaining)
            let at = buffered
            withUnsafeMutableBytes(of: &buffer) { buf in
                (buf.baseAddress! + at).copyMemory(from: base, byteCount: take)
            }
            buffered += take
            base += take
            remaining -= take
            if buffered == 64 {
                let block = buffer
                withUnsafeBytes(of: block) { compress($0.baseAddress!, blocks: 1) }
                buffered = 0
            }
        }
        if remaining >= 64 {
            let blocks = remaining / 64
            compress(base, blocks: blocks)
            base += blocks * 64
            remaining -= blocks * 64
        }
        if remaining > 0 {
            let count = remaining
            withUnsafeMutableBytes(of: &buffer) { buf in
                buf.baseAddress!.copyMemory(from: base, byteCount: count)
            }
            buffered = remaining
        }
    }

    public consuming func finalize() -> SHA256Digest {
        let bitLength = totalBytes &* 8
        // The padded tail, one or two blocks, on the stack: the rest of the partial block,
        // 0x80, zeros, and the length in bits as a big-endian 64-bit number.
        let blocks = buffered < 56 ? 1 : 2
        let pending = buffer, count = buffered
        withUnsafeTemporaryAllocation(byteCount: 128, alignment: 8) { tail in
            withUnsafeBytes(of: pending) { tail.baseAddress!.copyMemory(from: $0.baseAddress!, byteCount: count) }
            tail[count] = 0x80
            let end = blocks * 64
            for i in (count + 1)..<(end - 8) { tail[i] = 0 }
            for i in 0..<8 { tail[end - 8 + i] = UInt8(truncatingIfNeeded: bitLength >> UInt64(56 - 8 * i)) }
            compress(UnsafeRawPointer(tail.baseAddress!), blocks: blocks)
        }
        let words = state
        return SHA256Digest(bytes: [UInt8](unsafeUninitializedCapacity: 32) { out, initialized in
            withUnsafeBytes(of: words) { raw in
                for i in 0..<8 {
                    let word = raw.load(fromByteOffset: 4 * i, as: UInt32.self)
                    out[4 * i] = UInt8(truncatingIfNeeded: word >> 24)
                    out[4 * i + 1] = UInt8(truncatingIfNeeded: word >> 16)
                    out[4 * i + 2] = UInt8(truncatingIfNeeded: word >> 8)
                    out[4 * i + 3] = UInt8(truncatingIfNeeded: word)
                }
            }
            initialized = 32
        })
    }

    private static let k: [UInt32] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
        0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
        0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
        0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
        0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
        0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
        0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
    ]

    @inline(__always)
    private static func rotr(_ x: UInt32, _ n: UInt32) -> UInt32 { (x >> n) | (x << (32 &- n)) }

    @inline(__always)
    private static func round(_ a: UInt32, _ b: UInt32, _ c: UInt32, _ d: inout UInt32, _ e: UInt32, _ f: UInt32,
                              _ g: UInt32, _ h: inout UInt32, _ kw: UInt32) {
        let t1 = h &+ (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) &+ (g ^ (e & (f ^ g))) &+ kw
        d &+= t1
        h = t1 &+ (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) &+ ((a & b) | (c & (a | b)))
    }

    private mutating func compress(_ input: UnsafeRawPointer, blocks: Int) {
        if let blockFunction {
            // A homogeneous tuple is laid out like an array of its element.
            withUnsafeMutableBytes(of: &state) { words in
                blockFunction(words.baseAddress!.assumingMemoryBound(to: UInt32.self), input, blocks)
            }
            return
        }
        var (h0, h1, h2, h3, h4, h5, h6, h7) = state
        SHA256.k.withUnsafeBufferPointer { kp in
            let k = kp.baseAddress!
            withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 64) { wb in
                let w = wb.baseAddress!
                for block in 0..<blocks {
                    let p = input + block &* 64
                    for t in 0..<16 {
                        w[t] = UInt32(bigEndian: p.loadUnaligned(fromByteOffset: t &* 4, as: UInt32.self))
                    }
                    for t in 16..<64 {
                        let w15 = w[t &- 15], w2 = w[t &- 2]
                        let s0 = SHA256.rotr(w15, 7) ^ SHA256.rotr(w15, 18) ^ (w15 >> 3)
                        let s1 = SHA256.rotr(w2, 17) ^ SHA256.rotr(w2, 19) ^ (w2 >> 10)
                        w[t] = w[t &- 16] &+ s0 &+ w[t &- 7] &+ s1
                    }
                    var a = h0, b = h1, c = h2, d = h3, e = h4, f = h5, g = h6, h = h7
                    var t = 0
                    // Eight rounds per pass with the roles of the variables rotated, so no
                    // round moves seven words around.
                    while t < 64 {
                        SHA256.round(a, b, c, &d, e, f, g, &h, k[t] &+ w[t])
                        SHA256.round(h, a, b, &c, d, e, f, &g, k[t &+ 1] &+ w[t &+ 1])
                        SHA256.round(g, h, a, &b, c, d, e, &f, k[t &+ 2] &+ w[t &+ 2])
                        SHA256.round(f, g, h, &a, b, c, d, &e, k[t &+ 3] &+ w[t &+ 3])
                        SHA256.round(e, f, g, &h, a, b, c, &d, k[t &+ 4] &+ w[t &+ 4])
                        SHA256.round(d, e, f, &g, h, a, b, &c, k[t &+ 5] &+ w[t &+ 5])
                        SHA256.round(c, d, e, &f, g, h, a, &b, k[t &+ 6] &+ w[t &+ 6])
                        SHA256.round(b, c, d, &e, f, g, h, &a, k[t &+ 7] &+ w[t &+ 7])
                        t &+= 8
                    }
                    h0 &+= a; h1 &+= b; h2 &+= c; h3 &+= d
                    h4 &+= e; h5 &+= f; h6 &+= g; h7 &+= h
                }
            }
        }
        state = (h0, h1, h2, h3, h4, h5, h6, h7)
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
        // Straight into the string's storage: a key is made on every hit.
        String(unsafeUninitializedCapacity: 64) { out in
            for (i, byte) in bytes.enumerated() {
                out[2 * i] = SHA256Digest.digit(byte >> 4)
                out[2 * i + 1] = SHA256Digest.digit(byte & 0x0f)
            }
            return 64
        }
    }

    @inline(__always)
    private static func digit(_ nibble: UInt8) -> UInt8 { nibble < 10 ? 48 + nibble : 87 + nibble }
}
