import Foundation
import XCTest
import TTSCore
import TTSEngines
@testable import TTSServer

final class NativeSpeechTests: XCTestCase {
    func testSpeechAnswersTheWAVWithKeyTierETagAndLocationThenComesFromTheCache() async throws {
        try await withServer { server in
            let first = try await server.post("/v1/speech", #"{"text": "Hello from the server"}"#)
            XCTAssertEqual(first.status, 200, first.text)
            XCTAssertEqual(first.header("Content-Type"), "audio/wav")
            XCTAssertEqual(first.header("X-TTS-Tier"), "engine")
            let audio = try WAVAudio.decode(first.body)
            XCTAssertGreaterThan(audio.frameCount, 0)
            let sha = SHA256.hash(first.body).hex
            XCTAssertEqual(first.header("ETag"), "\"\(sha)\"")
            XCTAssertEqual(first.header("Content-Location"), "/v1/blobs/\(sha).wav")
            let key = try XCTUnwrap(first.header("X-TTS-Key"))
            XCTAssertEqual(key.count, 64)

            let second = try await server.post("/v1/speech", #"{"text": "Hello from the server"}"#)
            XCTAssertEqual(second.header("X-TTS-Tier"), "local")
            XCTAssertEqual(second.header("X-TTS-Key"), key)
            XCTAssertEqual(second.body, first.body)
        }
    }

    func testAcceptJSONAnswersTheSayObjectWithItsURL() async throws {
        try await withServer { server in
            let answer = try await server.post("/v1/speech", #"{"text": "JSON please", "voice": "en-gb"}"#,
                                               headers: [("Accept", "application/json")])
            XCTAssertEqual(answer.status, 200, answer.text)
            let object = try XCTUnwrap(answer.json)
            let blob = try XCTUnwrap(object["blob"]?.stringValue)
            XCTAssertEqual(object["url"]?.stringValue, "/v1/blobs/\(blob).wav")
            XCTAssertEqual(object["tier"]?.stringValue, "engine")
            XCTAssertEqual(object["voice"]?.stringValue, "en-gb")
            XCTAssertEqual(object["text"]?.stringValue, "JSON please")
            for field in ["key", "path", "bytes", "duration_ms", "sample_rate", "engine", "model", "hits", "created", "elapsed_ms"] {
                XCTAssertNotNil(object[field], "missing \(field)")
            }
            XCTAssertEqual(object["key"]?.stringValue, answer.header("X-TTS-Key"))
        }
    }

    func testPCMFormatIsTheClipsRawSamples() async throws {
        try await withServer { server in
            let wav = try await server.post("/v1/speech", #"{"text": "raw samples"}"#)
            let pcm = try await server.post("/v1/speech", #"{"text": "raw samples", "format": "pcm"}"#)
            XCTAssertEqual(pcm.status, 200, pcm.text)
            let audio = try WAVAudio.decode(wav.body)
            XCTAssertEqual(pcm.header("Content-Type"), "audio/L16;rate=\(audio.format.sampleRate);channels=1")
            XCTAssertEqual(pcm.body, audio.pcm)
            XCTAssertEqual(pcm.header("X-TTS-Tier"), "local")
        }
    }

    func testCompressedFormatsComeFromTheConversionPathAndTheirBlobURLs() async throws {
        try await withServer { server in
            let mp3 = try await server.post("/v1/speech", #"{"text": "compressed", "format": "mp3"}"#)
            XCTAssertEqual(mp3.status, 200, mp3.text)
            XCTAssertEqual(mp3.header("Content-Type"), "audio/mpeg")
            XCTAssertTrue(mp3.body.starts(with: Data("ID3".utf8)) || mp3.body.first == 0xFF, "an MP3 stream starts with ID3 or a frame sync")
            let key = try XCTUnwrap(mp3.header("X-TTS-Key"))
            let info = try await server.get("/v1/clips/\(key)")
            let blob = try XCTUnwrap(info.json?["blob"]?.stringValue)

            // Accept picks the format when the body names none; Ogg Opus is its own type.
            let opus = try await server.post("/v1/speech", #"{"text": "compressed"}"#, headers: [("Accept", "audio/ogg; codecs=opus")])
            XCTAssertEqual(opus.status, 200, opus.text)
            XCTAssertTrue(opus.body.starts(with: Data("OggS".utf8)))

            // The blob's URL in another format: the same cached conversion, immutable, with 304.
            let byURL = try await server.get("/v1/blobs/\(blob).mp3")
            XCTAssertEqual(byURL.status, 200, byURL.text)
            XCTAssertEqual(byURL.body, mp3.body, "one conversion, served twice")
            let etag = try XCTUnwrap(byURL.header("ETag"))
            XCTAssertEqual(etag, "\"\(SHA256.hash(byURL.body).hex)\"")
            XCTAssertEqual(byURL.header("Cache-Control"), "public, max-age=31536000, immutable")
            let again = try await server.get("/v1/blobs/\(blob).mp3", headers: [("If-None-Match", etag)])
            XCTAssertEqual(again.status, 304)
            let flac = try await server.get("/v1/blobs/\(blob).flac", headers: [("Range", "bytes=0-3")])
            XCTAssertEqual(flac.status, 206)
            XCTAssertEqual(flac.body, Data("fLaC".utf8))

            for bad in ["/v1/blobs/\(blob).aiff", "/v1/blobs/\(String(repeating: "0", count: 64)).mp3", "/v1/blobs/\(blob).mp3.wav"] {
                let missing = try await server.get(bad)
                XCTAssertEqual(missing.status, 404, bad)
            }
            let unknown = try await server.post("/v1/speech", #"{"text": "x", "format": "aiff"}"#)
            XCTAssertEqual(unknown.json?["error"]?["field"]?.stringValue, "format")
        }
    }

    func testBadInputIsA400NamingTheFieldInTheNativeShape() async throws {
        try await withServer(ServerFixture.Options(maxText: 20)) { server in
            let cases: [(String, String)] = [
                (#"{"text": 5}"#, "text"),
                (#"{"voice": "en-us"}"#, "text"),
                (#"{"text": "hi", "voice": "nobody-like-this"}"#, "voice"),
                (#"{"text": "hi", "language": "not a tag!"}"#, "language"),
                (#"{"text": "hi", "colour": "red"}"#, "colour"),
                (#"{"text": "hi", "speakers": "Joe"}"#, "speakers"),
                (#"{"text": "#, "body"),
                (#"["text"]"#, "body"),
                (#"{"text": "this text is far longer than twenty characters"}"#, "text"),
            ]
            for (body, field) in cases {
                let answer = try await server.post("/v1/speech", body)
                XCTAssertEqual(answer.status, 400, body)
                let error = try XCTUnwrap(answer.json?["error"], body)
                XCTAssertEqual(error["field"]?.stringValue, field, body)
                XCTAssertEqual(error["kind"]?.stringValue, "validation", body)
            }
            let long = try await server.post("/v1/speech", #"{"text": "this text is far longer than twenty characters"}"#)
            XCTAssertTrue(long.json?["error"]?["message"]?.stringValue?.contains("the limits are 20 scalars") == true, long.text)
        }
    }

    func testUnsetFieldsTakeTheServersDefaultsAndAnotherEngineItsOwn() async throws {
        try await withServer { server in
            server.gate.open()
            let answer = try await server.post("/v1/speech", #"{"text": "on the gate", "engine": "gate"}"#,
                                               headers: [("Accept", "application/json")])
            XCTAssertEqual(answer.status, 200, answer.text)
            XCTAssertEqual(answer.json?["engine"]?.stringValue, "gate")
            XCTAssertEqual(answer.json?["model"]?.stringValue, "gate-1")
            XCTAssertEqual(answer.json?["voice"]?.stringValue, "a")
        }
    }
}
