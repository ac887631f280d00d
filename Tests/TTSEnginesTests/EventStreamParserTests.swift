import Foundation
import XCTest
@testable import TTSEngines

/// The incremental SSE reader: events cut anywhere, Google's plain JSON error answers.
final class EventStreamParserTests: XCTestCase {
    private func strings(_ payloads: [Data]) -> [String] { payloads.map { String(decoding: $0, as: UTF8.self) } }

    /// Feeds `body` in pieces of `size` bytes and returns every payload, in order.
    private func parse(_ body: String, pieceSize size: Int) -> [String] {
        var parser = EventStreamParser()
        let bytes = Data(body.utf8)
        var payloads: [Data] = []
        for start in stride(from: 0, to: bytes.count, by: size) {
            payloads += parser.push(bytes.subdata(in: start..<min(start + size, bytes.count)))
        }
        return strings(payloads + parser.finish())
    }

    func testEventsCutAtEveryByteGiveTheSamePayloads() {
        let body = "data: {\"a\":1}\r\n\r\n: keep-alive\n\nevent: message\nid: 7\ndata: {\"b\":\"é\"}\n\ndata: line one\ndata: line two\n\n"
        let whole = parse(body, pieceSize: body.utf8.count)
        XCTAssertEqual(whole, ["{\"a\":1}", "{\"b\":\"é\"}", "line one\nline two"])
        for size in 1...9 {
            XCTAssertEqual(parse(body, pieceSize: size), whole, "pieces of \(size) bytes")
        }
    }

    func testAnEventIsDeliveredOnlyWhenItsBlankLineArrives() {
        var parser = EventStreamParser()
        XCTAssertEqual(parser.push(Data("data: {\"x\":".utf8)), [])
        XCTAssertEqual(parser.push(Data("1}\n".utf8)), [])
        XCTAssertEqual(strings(parser.push(Data("\ndata: 2".utf8))), ["{\"x\":1}"])
        XCTAssertEqual(strings(parser.push(Data("\n\n".utf8))), ["2"])
    }

    func testAPrettyPrintedJSONErrorAnswerIsOnePayload() {
        let body = "{\n  \"error\": {\n    \"code\": 429,\n    \"status\": \"RESOURCE_EXHAUSTED\"\n  }\n}\n"
        for size in [1, 5, body.utf8.count] {
            let payloads = parse(body, pieceSize: size)
            XCTAssertEqual(payloads.count, 1, "pieces of \(size)")
            let object = try? JSONSerialization.jsonObject(with: Data(payloads[0].utf8)) as? [String: Any]
            XCTAssertEqual((object?["error"] as? [String: Any])?["code"] as? Int, 429)
        }
    }

    func testAOneElementArrayAfterEventsIsCollectedWhole() {
        let body = "data: {\"a\":1}\n\n[{\n\"error\": {\"code\": 500}\n}]\n"
        XCTAssertEqual(parse(body, pieceSize: 3), ["{\"a\":1}", "[{\n\"error\": {\"code\": 500}\n}]\n"])
    }

    func testALastEventWithoutItsBlankLineIsDeliveredAtTheEnd() {
        XCTAssertEqual(parse("data: {\"a\":1}\n", pieceSize: 4), ["{\"a\":1}"])
    }

    func testFramerCarriesAByteAcrossPieces() {
        var framer = PCMFramer(bytesPerFrame: 2)
        XCTAssertEqual(framer.push(Data([1, 2, 3])), Data([1, 2]))
        XCTAssertEqual(framer.leftover, 1)
        XCTAssertEqual(framer.push(Data([4])), Data([3, 4]))
        XCTAssertEqual(framer.push(Data([5])), Data())
        XCTAssertEqual(framer.push(Data([6, 7, 8])), Data([5, 6, 7, 8]))
        XCTAssertEqual(framer.leftover, 0)
    }
}
