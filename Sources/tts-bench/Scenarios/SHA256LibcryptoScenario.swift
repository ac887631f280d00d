import BenchStats
import CLibcrypto
import Foundation
import TTSCore

/// Issue 13 §5: TTSCore's `SHA256` against OpenSSL's libcrypto called directly, on the same
/// buffers in the same run, at the two sizes the product hashes: an 88 KB buffer (a clip's WAV
/// bytes, named by their hash) and 64 bytes (about a canonical request, hashed into its key).
/// Both sides go from bytes in memory to a `SHA256Digest`. libcrypto is timed two ways, the
/// one-shot `SHA256()` and EVP with the digest fetched once and one context reused; the
/// baseline is the faster of the two. The digests must agree, or the run is a harness failure.
///
/// In process libcrypto is as fast on 88 KB and about twice as fast on 64 bytes (some 0.3 µs a
/// key), but a process that links it loads and initialises it at every start (its relocations,
/// openssl.cnf, the EVP fetch), which costs a cached one-shot far more than the keys save: the
/// hand-written SHA-NI code stays, and these rows keep the in-process comparison honest
/// (bench/NOTES.md).
struct SHA256LibcryptoScenario: Scenario {
    let name = "sha256-libcrypto"

    func run(_ context: BenchContext) async throws -> [Row] {
        var generator = SystemRandomNumberGenerator()
        let large = (0..<88_000).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let small = (0..<64).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let evp = try LibcryptoEVP()
        var rows: [Row] = []
        for (title, input, calls) in [("SHA-256 of an 88 KB buffer", large, 400), ("SHA-256 of 64 bytes", small, 200_000)] {
            let expected = SHA256.hash(input)
            guard Self.oneShot(input) == expected, evp.digest(input) == expected else {
                throw HarnessError("libcrypto and TTSCore disagree on the SHA-256 of \(input.count) bytes: the hash is wrong")
            }
            let rounds = context.quick ? 5 : 15
            var ours: [Double] = [], shot: [Double] = [], fetched: [Double] = []
            for round in 0...rounds {  // round 0 warms caches and the CPU clock
                let a = Self.throughput(input, calls) { SHA256.hash($0) }
                let b = Self.throughput(input, calls) { Self.oneShot($0) }
                let c = Self.throughput(input, calls) { evp.digest($0) }
                if round > 0 {
                    ours.append(a)
                    shot.append(b)
                    fetched.append(c)
                }
            }
            let (mine, oneShotMedian, evpMedian) = (try Stats(ours).median, try Stats(shot).median, try Stats(fetched).median)
            let best = max(oneShotMedian, evpMedian)
            func perCall(_ megabytesPerSecond: Double) -> String {
                String(format: "%.0f ns", Double(input.count) / megabytesPerSecond * 1000)
            }
            rows.append(.measured("\(title) (median of \(rounds))", Figure(mine, .megabytesPerSecond),
                                  baseline: Figure(best, .megabytesPerSecond),
                                  label: oneShotMedian >= evpMedian ? "libcrypto SHA256()" : "libcrypto EVP",
                                  note: "per hash: TTSCore \(perCall(mine)), libcrypto SHA256() \(perCall(oneShotMedian)), EVP (fetched once, context reused) \(perCall(evpMedian)); \(calls) hashes per timing, the three alternating"))
        }
        return rows
    }

    /// MB/s of `calls` hashes of `input`.
    private static func throughput(_ input: [UInt8], _ calls: Int, _ hash: ([UInt8]) -> SHA256Digest) -> Double {
        var sink = 0
        let start = monotonicNanos()
        for _ in 0..<calls { sink &+= Int(hash(input).bytes[0]) }
        let elapsed = Double(monotonicNanos() - start) / 1e9
        blackHole(sink)
        return Double(input.count * calls) / 1e6 / elapsed
    }

    /// libcrypto's one-shot `SHA256()`.
    private static func oneShot(_ input: [UInt8]) -> SHA256Digest {
        var out = [UInt8](repeating: 0, count: 32)
        input.withUnsafeBufferPointer { buffer in
            out.withUnsafeMutableBufferPointer { _ = SHA256(buffer.baseAddress, buffer.count, $0.baseAddress) }
        }
        return SHA256Digest(bytes: out)
    }
}

/// libcrypto's EVP interface with the SHA-256 implementation fetched once and one context
/// reused, the fastest way OpenSSL 3 offers for many small hashes. One thread at a time.
private final class LibcryptoEVP {
    private let md: OpaquePointer
    private let context: OpaquePointer

    init() throws {
        guard let md = EVP_MD_fetch(nil, "SHA256", nil), let context = EVP_MD_CTX_new() else {
            throw HarnessError("libcrypto has no SHA256 digest (EVP_MD_fetch failed)")
        }
        self.md = md
        self.context = context
    }

    deinit {
        EVP_MD_CTX_free(context)
        EVP_MD_free(md)
    }

    func digest(_ input: [UInt8]) -> SHA256Digest {
        var out = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        input.withUnsafeBufferPointer { buffer in
            out.withUnsafeMutableBufferPointer { digest in
                guard EVP_DigestInit_ex2(context, md, nil) == 1, EVP_DigestUpdate(context, buffer.baseAddress, buffer.count) == 1,
                      EVP_DigestFinal_ex(context, digest.baseAddress, &length) == 1 else { length = 0; return }
            }
        }
        return SHA256Digest(bytes: length == 32 ? out : [UInt8](repeating: 0, count: 32))
    }
}

/// Keeps the optimizer from dropping the hashing whose result is otherwise unused.
@inline(never)
private func blackHole(_ value: Int) {
    if value == Int.min { print("") }
}
