import Foundation
import XCTest

/// Issue 14, item 4: a cached answer loads nothing it does not use. libcurl, espeak-ng,
/// libsndfile and libmicrohttpd (with the ~60 libraries they bring) are loaded on first use;
/// the dynamic loader's own trace (`LD_DEBUG=libs`) says which libraries a process initialised.
final class StartUpEndToEndTests: XCTestCase {
    private static let deferred = ["libcurl.so", "libespeak-ng.so", "libsndfile.so", "libmicrohttpd.so"]

    private func initialised(_ result: ReplProcess.Result) -> [String] {
        result.stderr.split(separator: "\n").compactMap { line in
            line.range(of: "calling init: ").map { String(line[$0.upperBound...]) }
        }
    }

    func testACachedSayLoadsNoEngineCodecOrServerLibrary() throws {
        let repl = try ReplProcess()
        let miss = try repl.run(["--json", "say", "Loaded only when needed."])
        XCTAssertEqual(miss.status, 0, miss.stderr)
        XCTAssertEqual(miss.jsonLines.first?["tier"] as? String, "engine")

        var traced = repl
        traced.environment["LD_DEBUG"] = "libs"
        let hit = try traced.run(["--json", "say", "Loaded only when needed."])
        XCTAssertEqual(hit.status, 0, hit.stderr)
        XCTAssertEqual(hit.jsonLines.first?["tier"] as? String, "local")
        let libraries = initialised(hit)
        XCTAssertTrue(libraries.contains { $0.contains("libsqlite3.so") }, "the trace lists what was loaded: \(libraries)")
        for name in Self.deferred {
            XCTAssertFalse(libraries.contains { $0.contains(name) }, "a cached say loaded \(name)")
        }

        // A miss loads the engine it needs, through the same functions.
        let second = try traced.run(["--json", "say", "A phrase not yet in the store."])
        XCTAssertEqual(second.status, 0, second.stderr)
        XCTAssertEqual(second.jsonLines.first?["tier"] as? String, "engine")
        XCTAssertTrue(initialised(second).contains { $0.contains("libespeak-ng.so") }, "a miss did not load espeak-ng")
        XCTAssertFalse(initialised(second).contains { $0.contains("libmicrohttpd.so") }, "a say loaded the server library")
    }
}
