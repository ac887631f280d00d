// swift-tools-version:6.0
// tts-repl: a content-addressed, two-tier cache for text-to-speech audio, with a REPL on top.
// No package dependencies: Foundation, Dispatch, XCTest and Debian's C libraries only.
import PackageDescription

let package = Package(
    name: "tts-repl",
    products: [
        .executable(name: "tts-repl", targets: ["tts-repl"]),
        .executable(name: "fake-gemini", targets: ["fake-gemini"]),
        // The library other Swift packages use: `.package(path: …)`, then `import TTSKit`.
        .library(name: "TTSKit", targets: ["TTSKit"]),
    ],
    targets: [
        // C surface only: module maps over Debian's libraries, and one shim for what Swift
        // cannot call (variadic functions, cast macros).
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        // No pkgConfig for hiredis: its flags carry -D_FILE_OFFSET_BITS=64, which SwiftPM rejects.
        .systemLibrary(name: "CHiredis", providers: [.apt(["libhiredis-dev"])]),
        .systemLibrary(name: "CCurl", providers: [.apt(["libcurl4-openssl-dev"])]),
        .systemLibrary(name: "CEspeak", providers: [.apt(["libespeak-ng-dev"])]),
        .target(name: "CShims", dependencies: ["CSQLite", "CCurl", "CLazyLibraries"]),
        // The espeak-ng zygote: a helper process forking one child per synthesis (C, started by
        // re-executing our own binary; see its header for why).
        .target(name: "CEspeakZygote", dependencies: ["CEspeak", "CLazyLibraries"]),
        .systemLibrary(name: "CMicroHTTPD", providers: [.apt(["libmicrohttpd-dev"])]),
        // No pkgConfig: its flags only add include folders sndfile.h does not need.
        .systemLibrary(name: "CSndfile", providers: [.apt(["libsndfile1-dev"])]),
        // The four libraries above that a cache hit never needs (curl, espeak-ng, libsndfile,
        // libmicrohttpd: their module maps link nothing) are loaded on first use, by functions of
        // the same names that forward to them. Start-up then maps ~20 shared libraries, not ~80.
        .target(name: "CLazyLibraries", dependencies: ["CCurl", "CEspeak", "CSndfile", "CMicroHTTPD"]),

        // SHA-256 block function on the CPU's SHA instructions, with no other C dependency.
        .target(name: "CSHA256"),
        // OpenSSL's libcrypto, for the benchmark that races it against CSHA256 only: loading it
        // costs every process more than its faster short hashes save (bench/NOTES.md).
        .systemLibrary(name: "CLibcrypto", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),
        // The concurrency model (nothing blocking on the cooperative pool) and its pieces: the
        // blocking executor, the sync-to-async bridge, the signal router. The lowest layer.
        .target(name: "TTSConcurrency"),
        .target(name: "TTSCore", dependencies: ["CSHA256"]),
        .target(name: "TTSStore", dependencies: ["TTSConcurrency", "TTSCore", "CSQLite", "CHiredis", "CShims"]),
        .target(name: "TTSEngines", dependencies: ["TTSConcurrency", "TTSCore", "CCurl", "CEspeak", "CEspeakZygote", "CShims", "CLazyLibraries"]),
        .target(name: "TTSService", dependencies: ["TTSConcurrency", "TTSCore", "TTSStore", "TTSEngines", "CSndfile", "CShims", "CLazyLibraries"]),
        // The HTTP faces (native, OpenAI- and Gemini-compatible, operations) on libmicrohttpd.
        .target(name: "TTSServer", dependencies: ["TTSConcurrency", "TTSCore", "TTSStore", "TTSService", "CMicroHTTPD", "CLazyLibraries"]),
        // The public library: a small documented API over TTSService (see Examples/speak-once).
        .target(name: "TTSKit", dependencies: ["TTSConcurrency", "TTSCore", "TTSStore", "TTSService"]),
        .target(name: "LineEditor"),
        .executableTarget(name: "tts-repl", dependencies: ["TTSConcurrency", "TTSService", "TTSServer", "LineEditor"]),
        // The loopback Gemini stand-in, a library so tests can start it in-process.
        .target(name: "FakeGeminiServer", dependencies: ["TTSCore"]),
        .executableTarget(name: "fake-gemini", dependencies: ["TTSCore", "FakeGeminiServer"]),
        // Benchmarks (`make bench`): the harness, and its order statistics and targets as a tiny
        // library so they can be unit-tested. CSQLite, CHiredis and CLibcrypto are for the raw baselines only.
        .target(name: "BenchStats"),
        .executableTarget(name: "tts-bench",
                          dependencies: ["BenchStats", "TTSCore", "TTSStore", "TTSEngines", "TTSService", "CSQLite", "CHiredis", "CLibcrypto"]),

        // Test helpers shared by the test targets (a throwaway redis-server, …).
        .target(name: "TestSupport", dependencies: ["TTSStore"], path: "Tests/TestSupport"),
        .testTarget(name: "TTSConcurrencyTests", dependencies: ["TTSConcurrency"]),
        .testTarget(name: "TTSCoreTests", dependencies: ["TTSCore"]),
        .testTarget(name: "TTSStoreTests", dependencies: ["TTSConcurrency", "TTSStore", "TestSupport", "CSQLite"]),
        .testTarget(name: "TTSEnginesTests", dependencies: ["TTSEngines", "FakeGeminiServer"]),
        .testTarget(name: "TTSServiceTests", dependencies: ["TTSService", "TestSupport", "FakeGeminiServer"]),
        .testTarget(name: "TTSKitTests", dependencies: ["TTSKit"]),
        .testTarget(name: "TTSServerTests", dependencies: ["TTSServer", "TTSService", "TTSEngines", "TTSStore", "TestSupport", "FakeGeminiServer"]),
        .testTarget(name: "LineEditorTests", dependencies: ["LineEditor"]),
        .testTarget(name: "EndToEndTests", dependencies: ["TTSCore", "TTSStore", "TestSupport", "FakeGeminiServer"]),
        .testTarget(name: "TTSBenchTests", dependencies: ["BenchStats"]),
        // The REPL's command declarations, parser, help and completion (`@testable import tts_repl`).
        .testTarget(name: "TTSReplTests", dependencies: ["tts-repl", "TTSCore", "TTSService"]),
    ],
    swiftLanguageModes: [.v6]
)
