import Foundation
import XCTest
import TTSCore
import TTSEngines
@testable import TTSServer

/// `GET /v1/clips`, `GET /v1/clips/{key}` and `GET|HEAD /v1/blobs/{sha256}.wav`.
final class CatalogRoutesTests: XCTestCase {
    private func speak(_ server: ServerFixture, _ text: String) async throws -> HTTPResponse {
        let answer = try await server.post("/v1/speech", #"{"text": "\#(text)"}"#)
        XCTAssertEqual(answer.status, 200, answer.text)
        return answer
    }

    func testClipListFiltersLikeLs() async throws {
        try await withServer { server in
            _ = try await speak(server, "apples and pears")
            _ = try await speak(server, "bananas")
            let all = try await server.get("/v1/clips")
            XCTAssertEqual(all.status, 200)
            guard case .array(let clips)? = all.json else { return XCTFail(all.text) }
            XCTAssertEqual(clips.count, 2)
            let matched = try await server.get("/v1/clips?match=pears&limit=5")
            guard case .array(let only)? = matched.json else { return XCTFail(matched.text) }
            XCTAssertEqual(only.map { $0["text"]?.stringValue }, ["apples and pears"])
            let none = try await server.get("/v1/clips?engine=gate")
            XCTAssertEqual(none.json, .array([]))
            let bad = try await server.get("/v1/clips?limit=zero")
            XCTAssertEqual(bad.status, 400)
            XCTAssertEqual(bad.json?["error"]?["field"]?.stringValue, "limit")
        }
    }

    func testClipByKeyOrPrefixAnswersItsFieldsAndUnknownKeysAre404() async throws {
        try await withServer { server in
            let spoken = try await speak(server, "find me")
            let key = try XCTUnwrap(spoken.header("X-TTS-Key"))
            let byPrefix = try await server.get("/v1/clips/\(key.prefix(8))")
            XCTAssertEqual(byPrefix.status, 200, byPrefix.text)
            XCTAssertEqual(byPrefix.json?["key"]?.stringValue, key)
            XCTAssertEqual(byPrefix.json?["text"]?.stringValue, "find me")
            XCTAssertNotNil(byPrefix.json?["path"]?.stringValue)
            XCTAssertEqual(byPrefix.json?["url"]?.stringValue, spoken.header("Content-Location"))
            let full = try await server.get("/v1/clips/\(key)")
            XCTAssertEqual(full.json?["key"]?.stringValue, key)

            let missing = try await server.get("/v1/clips/" + String(repeating: "0", count: 64))
            XCTAssertEqual(missing.status, 404)
            XCTAssertEqual(missing.json?["error"]?["kind"]?.stringValue, "not_found")
            let notAKey = try await server.get("/v1/clips/zz")
            XCTAssertEqual(notAKey.status, 400)
            XCTAssertEqual(notAKey.json?["error"]?["field"]?.stringValue, "key")
        }
    }

    func testBlobIsImmutableWithStrongETagHeadAndRevalidation() async throws {
        try await withServer { server in
            let spoken = try await speak(server, "the blob itself")
            let location = try XCTUnwrap(spoken.header("Content-Location"))
            let blob = try await server.get(location)
            XCTAssertEqual(blob.status, 200)
            XCTAssertEqual(blob.body, spoken.body)
            XCTAssertEqual(blob.header("Content-Type"), "audio/wav")
            XCTAssertEqual(blob.header("Cache-Control"), "public, max-age=31536000, immutable")
            XCTAssertEqual(blob.header("Accept-Ranges"), "bytes")
            let etag = try XCTUnwrap(blob.header("ETag"))
            XCTAssertEqual(etag, spoken.header("ETag"))

            let head = try await server.send("HEAD", location)
            XCTAssertEqual(head.status, 200)
            XCTAssertEqual(head.body.count, 0)
            XCTAssertEqual(head.header("Content-Length"), String(spoken.body.count))
            XCTAssertEqual(head.header("ETag"), etag)

            let revalidated = try await server.get(location, headers: [("If-None-Match", "\"other\", \(etag)")])
            XCTAssertEqual(revalidated.status, 304)
            XCTAssertEqual(revalidated.body.count, 0)
            XCTAssertEqual(revalidated.header("ETag"), etag)
            let changed = try await server.get(location, headers: [("If-None-Match", "\"other\"")])
            XCTAssertEqual(changed.status, 200)
        }
    }

    func testSingleRangeIs206AndOutOfRangeIs416() async throws {
        try await withServer { server in
            let spoken = try await speak(server, "seek in me")
            let location = try XCTUnwrap(spoken.header("Content-Location"))
            let size = spoken.body.count
            let part = try await server.get(location, headers: [("Range", "bytes=10-109")])
            XCTAssertEqual(part.status, 206)
            XCTAssertEqual(part.body, spoken.body.subdata(in: 10..<110))
            XCTAssertEqual(part.header("Content-Range"), "bytes 10-109/\(size)")
            let tail = try await server.get(location, headers: [("Range", "bytes=-4")])
            XCTAssertEqual(tail.status, 206)
            XCTAssertEqual(tail.body, spoken.body.suffix(4))
            let open = try await server.get(location, headers: [("Range", "bytes=\(size - 2)-")])
            XCTAssertEqual(open.body.count, 2)
            let beyond = try await server.get(location, headers: [("Range", "bytes=\(size)-")])
            XCTAssertEqual(beyond.status, 416)
            XCTAssertEqual(beyond.header("Content-Range"), "bytes */\(size)")
            let several = try await server.get(location, headers: [("Range", "bytes=0-1,5-6")])
            XCTAssertEqual(several.status, 200)
            XCTAssertEqual(several.body.count, size)
            let stale = try await server.get(location, headers: [("Range", "bytes=0-1"), ("If-Range", "\"other\"")])
            XCTAssertEqual(stale.status, 200)
        }
    }

    func testOnlySixtyFourLowercaseHexDigitsNameABlob() async throws {
        try await withServer { server in
            let spoken = try await speak(server, "names")
            let location = try XCTUnwrap(spoken.header("Content-Location"))
            let sha = String(location.dropFirst("/v1/blobs/".count).dropLast(4))
            for path in ["/v1/blobs/\(sha.uppercased()).wav", "/v1/blobs/\(sha)", "/v1/blobs/\(sha).mp3.wav", "/v1/blobs/\(sha).aiff",
                         "/v1/blobs/\(sha.dropLast()).wav", "/v1/blobs/../index.sqlite", "/v1/blobs/%2e%2e%2findex.sqlite",
                         "/v1/blobs/" + String(repeating: "a", count: 64) + ".wav", "/v1/blobs/"] {
                let answer = try await server.get(path)
                XCTAssertEqual(answer.status, 404, path)
                XCTAssertFalse(answer.body.starts(with: Data("RIFF".utf8)), path)
            }
        }
    }
}
