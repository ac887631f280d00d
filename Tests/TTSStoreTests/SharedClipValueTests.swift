import Foundation
import TTSCore
import XCTest
@testable import TTSStore

/// Decoding a shared clip's value (`SharedClipValue`, version 1) walks its fields in place:
/// any order, unknown names skipped, numbers that are not numbers refused.
final class SharedClipValueTests: XCTestCase {
    /// A version-1 value from fields in the given order, then `audio`.
    private func value(_ fields: [(String, String)], audio: Data = Data()) -> Data {
        var metadata = Data()
        for (name, text) in fields {
            metadata.append(UInt8(name.utf8.count))
            metadata.append(contentsOf: Array(name.utf8))
            let count = UInt32(text.utf8.count)
            metadata.append(contentsOf: [UInt8(count >> 24), UInt8(count >> 16 & 0xff), UInt8(count >> 8 & 0xff), UInt8(count & 0xff)])
            metadata.append(contentsOf: Array(text.utf8))
        }
        let count = UInt32(metadata.count)
        var out = Data([1, UInt8(count >> 24), UInt8(count >> 16 & 0xff), UInt8(count >> 8 & 0xff), UInt8(count & 0xff)])
        out.append(metadata)
        out.append(audio)
        return out
    }

    private func fields(of clip: Clip, speakers: String = "") -> [(String, String)] {
        [("blob", clip.blob.hex), ("bytes", String(clip.bytes)), ("duration_ms", String(clip.durationMs)),
         ("sample_rate", String(clip.sampleRate)), ("channels", "2"), ("engine", clip.engine), ("model", clip.model),
         ("voice", clip.voice), ("language", clip.language), ("style", clip.style), ("speakers", speakers),
         ("text", clip.text), ("created", "1700000000")]
    }

    func testEveryFieldIsReadInAnyOrderAndUnknownOnesAreSkipped() throws {
        let clip = sampleClip(text: "Ünïcode — text", style: "calm")
        var shuffled = fields(of: clip, speakers: "Ann:en-us,Bob:en-gb").reversed() as [(String, String)]
        shuffled.insert(("from_a_later_version", "whatever"), at: 3)
        let audio = sampleWAV(seed: 1)
        let decoded = try SharedClipValue.decode(value(shuffled, audio: audio), key: clip.key)
        XCTAssertEqual(decoded.clip.key, clip.key)
        XCTAssertEqual(decoded.clip.blob, clip.blob)
        XCTAssertEqual(decoded.clip.text, clip.text)
        XCTAssertEqual([decoded.clip.voice, decoded.clip.language, decoded.clip.engine, decoded.clip.model, decoded.clip.style],
                       [clip.voice, clip.language, clip.engine, clip.model, clip.style])
        XCTAssertEqual([decoded.clip.bytes, decoded.clip.durationMs, decoded.clip.sampleRate, decoded.channels],
                       [clip.bytes, clip.durationMs, clip.sampleRate, 2])
        XCTAssertEqual(decoded.clip.createdAt, Date(timeIntervalSince1970: 1_700_000_000))
        XCTAssertEqual(decoded.speakers, [SpeakerVoice(name: "Ann", voice: "en-us"), SpeakerVoice(name: "Bob", voice: "en-gb")])
        XCTAssertEqual(decoded.audio, audio)
    }

    func testAnEncodedValueComesBackWhole() throws {
        let clip = sampleClip(text: "round trip")
        let decoded = try SharedClipValue.decode(SharedClipValue(clip: clip, channels: 1, audio: nil).encoded(), key: clip.key)
        XCTAssertEqual(decoded.clip.blob, clip.blob)
        XCTAssertEqual(decoded.clip.text, clip.text)
        XCTAssertEqual(decoded.channels, 1)
        XCTAssertNil(decoded.audio)
    }

    func testANumberThatIsNotOneOrAMissingFieldIsUnreadable() {
        let clip = sampleClip(text: "broken")
        for broken in [
            fields(of: clip).map { $0.0 == "bytes" ? ("bytes", "12a") : $0 },
            fields(of: clip).map { $0.0 == "sample_rate" ? ("sample_rate", "") : $0 },
            fields(of: clip).filter { $0.0 != "text" },
            fields(of: clip).map { $0.0 == "blob" ? ("blob", "not hex") : $0 },
        ] {
            XCTAssertThrowsError(try SharedClipValue.decode(value(broken), key: clip.key)) { error in
                XCTAssertEqual((error as? SharedClipValue.Unreadable)?.reason, "a required field is missing or not a number")
            }
        }
    }
}
