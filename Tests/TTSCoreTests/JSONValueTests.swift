import Foundation
import XCTest
@testable import TTSCore

final class JSONValueTests: XCTestCase {
    func testObjectsKeepKeyOrderAndValuesTheirShape() {
        let value: JSONValue = .object([("b", 1), ("a", .array([true, .null, 2.5, 3.0])), ("c", .object([("x", "y")])),
                                        ("n", .double(.nan)), ("neg", .int(-42))])
        XCTAssertEqual(value.serialized(), #"{"b":1,"a":[true,null,2.5,3],"c":{"x":"y"},"n":null,"neg":-42}"#)
    }

    func testSpecialCharactersAreEscaped() {
        XCTAssertEqual(JSONValue.string("say \"hi\"\\").serialized(), #""say \"hi\"\\""#)
        XCTAssertEqual(JSONValue.string("a\nb\rc\td").serialized(), #""a\nb\rc\td""#)
        XCTAssertEqual(JSONValue.string("\u{0}\u{1}\u{1F}\u{7F}").serialized(), "\"\\u0000\\u0001\\u001f\u{7F}\"")
        XCTAssertEqual(JSONValue.string("x\u{2028}y\u{2029}z").serialized(), #""x\u2028y\u2029z""#)
    }

    func testNonASCIITextIsWrittenAsUTF8() {
        XCTAssertEqual(JSONValue.string("caf\u{E9} \u{2027}\u{202A} 日本 👋🏽").serialized(), "\"caf\u{E9} \u{2027}\u{202A} 日本 👋🏽\"")
    }

    /// Random strings, weighted toward the characters that need escaping and their UTF-8
    /// neighbours, serialize as the scalar-by-scalar writer this one replaced did, and parse back.
    func testRandomStringsMatchTheScalarWriterAndRoundTrip() throws {
        var generator = SeededGenerator(seed: 0x75_0B)
        let pool: [UInt32] = [0x0, 0x1, 0x9, 0xA, 0xD, 0x1F, 0x20, 0x22, 0x2F, 0x5C, 0x41, 0x7F, 0x80, 0xE9, 0x2027,
                              0x2028, 0x2029, 0x202A, 0x20AC, 0xFEFF, 0x1F44B, 0x10FFFF]
        for _ in 0..<2_000 {
            var text = String.UnicodeScalarView()
            for _ in 0..<Int.random(in: 0...24, using: &generator) {
                let value = Bool.random(using: &generator) ? pool.randomElement(using: &generator)!
                    : UInt32.random(in: 0...0x2FFFF, using: &generator)
                if let scalar = Unicode.Scalar(value) { text.append(scalar) }
            }
            let string = String(text)
            let serialized = JSONValue.string(string).serialized()
            XCTAssertEqual(Array(serialized.utf8), Array(scalarWriter(string).utf8), "for \(string.debugDescription)")
            XCTAssertEqual(JSONValue.object([("k", .string(string))]).serializedUTF8(),
                           Array("{\"k\":\(scalarWriter(string))}".utf8), "for \(string.debugDescription)")
            let parsed = try JSONSerialization.jsonObject(with: Data(serialized.utf8), options: [.fragmentsAllowed]) as? String
            // Foundation's parser drops U+FEFF wherever it stands (it takes it for a byte-order
            // mark), so the round trip is compared without it; the writer keeps it (see above).
            let kept = { (s: String) in Array(s.unicodeScalars.filter { $0.value != 0xFEFF }) }
            XCTAssertEqual(parsed.map(kept), kept(string), "round trip of \(string.debugDescription)")
        }
    }

    /// The string writer as it was before it worked on bytes: the reference for the test above.
    private func scalarWriter(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 || scalar.value == 0x2028 || scalar.value == 0x2029 {
                    out += String(format: "\\u%04x", scalar.value)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}
