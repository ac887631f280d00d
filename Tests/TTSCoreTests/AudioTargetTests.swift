import XCTest
@testable import TTSCore

final class AudioTargetTests: XCTestCase {
    func testEverySettingThatChangesTheBytesIsInTheCacheName() throws {
        XCTAssertEqual(try AudioTarget(sampleRate: 8000, encoding: .ulaw).validated().name, "8000-ulaw")
        XCTAssertEqual(try AudioTarget().validated().name, "source-pcm16")
        XCTAssertEqual(try AudioTarget(encoding: .mp3).validated().name, "source-mp3-64k")
        XCTAssertEqual(try AudioTarget(sampleRate: 24_000, encoding: .mp3, bitrate: 96).validated().name, "24000-mp3-96k")
        XCTAssertEqual(try AudioTarget(encoding: .opus).validated().name, "source-opus-32k")
        XCTAssertEqual(try AudioTarget(encoding: .vorbis, quality: 6).validated().name, "source-vorbis-q6")
        XCTAssertEqual(try AudioTarget(encoding: .flac).validated().name, "source-flac-q5")
        // A default written out is the same conversion as the default left out.
        XCTAssertEqual(try AudioTarget(encoding: .mp3, bitrate: 64).validated(), try AudioTarget(encoding: .mp3).validated())
    }

    func testFormatsCarryTheirExtensionAndMIMEType() {
        let expected: [AudioEncoding: (String, String)] = [
            .pcm16: ("wav", "audio/wav"), .ulaw: ("wav", "audio/wav"), .alaw: ("wav", "audio/wav"),
            .flac: ("flac", "audio/flac"), .opus: ("opus", "audio/ogg; codecs=opus"), .vorbis: ("ogg", "audio/ogg"),
            .mp3: ("mp3", "audio/mpeg"),
        ]
        for encoding in AudioEncoding.allCases {
            XCTAssertEqual(encoding.fileExtension, expected[encoding]?.0, encoding.rawValue)
            XCTAssertEqual(encoding.mimeType, expected[encoding]?.1, encoding.rawValue)
        }
        XCTAssertEqual(AudioEncoding(named: "WAV"), .pcm16)
        XCTAssertEqual(AudioEncoding(named: "mp3"), .mp3)
        XCTAssertNil(AudioEncoding(named: "aac"))
    }

    func testOpusGetsARateItAcceptsAndOthersKeepTheClips() {
        XCTAssertEqual(AudioTarget(encoding: .opus).outputRate(forSourceRate: 22_050), 24_000)
        XCTAssertEqual(AudioTarget(encoding: .opus).outputRate(forSourceRate: 44_100), 48_000)
        XCTAssertEqual(AudioTarget(encoding: .opus).outputRate(forSourceRate: 16_000), 16_000)
        XCTAssertEqual(AudioTarget(encoding: .mp3).outputRate(forSourceRate: 22_050), 22_050)
        XCTAssertEqual(AudioTarget(sampleRate: 8000, encoding: .flac).outputRate(forSourceRate: 24_000), 8000)
    }

    func testSettingsOutOfRangeOrForTheWrongFormatAreRefusedWithWhatIsAccepted() {
        let cases: [(AudioTarget, String, String)] = [
            (AudioTarget(encoding: .mp3, bitrate: 400), "bitrate", "8–320"),
            (AudioTarget(encoding: .opus, bitrate: 2), "bitrate", "6–256"),
            (AudioTarget(encoding: .flac, quality: 9), "quality", "0–8"),
            (AudioTarget(encoding: .vorbis, bitrate: 64), "bitrate", "--quality 0–10"),
            (AudioTarget(encoding: .mp3, quality: 3), "quality", "--bitrate"),
            (AudioTarget(encoding: .pcm16, bitrate: 64), "bitrate", "no bit rate"),
            (AudioTarget(sampleRate: 22_050, encoding: .opus), "rate", "8000, 12000, 16000, 24000, 48000"),
            (AudioTarget(sampleRate: 11_025, encoding: .mp3), "rate", "8000, 16000"),
        ]
        for (target, field, hint) in cases {
            XCTAssertThrowsError(try target.validated(), target.name) { error in
                guard let error = error as? TTSError else { return XCTFail("\(error)") }
                XCTAssertEqual(error.kind, .validation)
                XCTAssertEqual(error.field, field, error.message)
                XCTAssertTrue(error.message.contains(hint), error.message)
            }
        }
        XCTAssertEqual(try AudioTarget(sampleRate: 12_000, encoding: .opus).validated().sampleRate, 12_000)
    }
}
