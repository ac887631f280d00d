import Foundation
import XCTest
@testable import TTSCore

/// Builds RIFF/WAVE files byte by byte, so each test states exactly the file it feeds the decoder.
enum RIFF {
    static func le16(_ v: Int) -> [UInt8] { [UInt8(v & 0xff), UInt8((v >> 8) & 0xff)] }
    static func le32(_ v: Int) -> [UInt8] { [UInt8(v & 0xff), UInt8((v >> 8) & 0xff), UInt8((v >> 16) & 0xff), UInt8((v >> 24) & 0xff)] }

    /// A chunk: id, size, body, and the pad byte RIFF requires after an odd-sized body.
    static func chunk(_ id: String, _ body: [UInt8], size: Int? = nil, pad: Bool = true) -> [UInt8] {
        precondition(id.utf8.count == 4)
        var out = Array(id.utf8) + le32(size ?? body.count) + body
        if pad && body.count % 2 == 1 { out.append(0) }
        return out
    }

    /// A 16-byte PCM `fmt ` body (or longer with `extra`), with block align and byte rate derived
    /// from the other fields unless given.
    static func fmtBody(tag: Int = 1, channels: Int = 1, rate: Int = 24_000, bits: Int = 16,
                        extra: [UInt8] = []) -> [UInt8] {
        let blockAlign = channels * bits / 8
        return le16(tag) + le16(channels) + le32(rate) + le32(rate * blockAlign) + le16(blockAlign) + le16(bits) + extra
    }

    /// WAVE_FORMAT_EXTENSIBLE: cbSize 22, valid bits, channel mask, then the sub-format GUID whose
    /// first two bytes are the format code (1 = PCM, 3 = float).
    static func extensibleFmtBody(subFormat: Int, channels: Int = 2, rate: Int = 48_000, bits: Int = 24) -> [UInt8] {
        let guidTail: [UInt8] = [0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71]
        let extra = le16(22) + le16(bits) + le32(channels == 2 ? 3 : 4) + le16(subFormat) + guidTail
        return fmtBody(tag: 0xFFFE, channels: channels, rate: rate, bits: bits, extra: extra)
    }

    static func file(_ chunks: [[UInt8]], riffSize: Int? = nil) -> Data {
        let body = Array("WAVE".utf8) + chunks.flatMap { $0 }
        return Data(Array("RIFF".utf8) + le32(riffSize ?? body.count) + body)
    }
}

final class WAVAudioTests: XCTestCase {
    private func samples(_ count: Int, seed: UInt64 = 9) -> Data {
        var rng = SeededGenerator(seed: seed)
        return Data(rng.bytes(count))
    }

    private func assertRejected(_ data: Data, mentioning words: [String], file: StaticString = #filePath,
                                line: UInt = #line) {
        XCTAssertThrowsError(try WAVAudio.decode(data), file: file, line: line) { error in
            guard let error = error as? TTSError else {
                return XCTFail("expected a TTSError, got \(error)", file: file, line: line)
            }
            XCTAssertEqual(error.kind, .content, file: file, line: line)
            XCTAssertTrue(error.message.hasPrefix("not a usable WAV file"), error.message, file: file, line: line)
            for word in words {
                XCTAssertTrue(error.message.contains(word), "'\(error.message)' should mention '\(word)'", file: file, line: line)
            }
        }
    }

    private func readLE16(_ d: [UInt8], _ i: Int) -> Int { Int(d[i]) | Int(d[i + 1]) << 8 }
    private func readLE32(_ d: [UInt8], _ i: Int) -> Int {
        Int(d[i]) | Int(d[i + 1]) << 8 | Int(d[i + 2]) << 16 | Int(d[i + 3]) << 24
    }

    // MARK: Encoding

    func testEncodedHeaderIsTheCanonical44Bytes() {
        let cases: [(PCMFormat, Int)] = [
            (PCMFormat(sampleRate: 24_000), 4_800),
            (PCMFormat(sampleRate: 22_050), 0),
            (PCMFormat(sampleRate: 44_100, channels: 2, bitsPerSample: 16), 400),
            (PCMFormat(sampleRate: 8_000, channels: 1, bitsPerSample: 8), 100),
            (PCMFormat(sampleRate: 48_000, channels: 2, bitsPerSample: 24), 600),
            (PCMFormat(sampleRate: 384_000, channels: 8, bitsPerSample: 32), 32 * 10),
        ]
        for (format, count) in cases {
            let pcm = samples(count)
            let bytes = [UInt8](WAVAudio(format: format, pcm: pcm).encoded())
            let label = "\(format), \(count) bytes"
            XCTAssertEqual(bytes.count, 44 + count, label)
            XCTAssertEqual(Array(bytes[0..<4]), Array("RIFF".utf8), label)
            XCTAssertEqual(readLE32(bytes, 4), 36 + count, "RIFF size = file size - 8; \(label)")
            XCTAssertEqual(Array(bytes[8..<12]), Array("WAVE".utf8), label)
            XCTAssertEqual(Array(bytes[12..<16]), Array("fmt ".utf8), label)
            XCTAssertEqual(readLE32(bytes, 16), 16, "fmt chunk size; \(label)")
            XCTAssertEqual(readLE16(bytes, 20), 1, "format tag PCM; \(label)")
            XCTAssertEqual(readLE16(bytes, 22), format.channels, label)
            XCTAssertEqual(readLE32(bytes, 24), format.sampleRate, label)
            XCTAssertEqual(readLE32(bytes, 28), format.sampleRate * format.channels * format.bitsPerSample / 8, "byte rate; \(label)")
            XCTAssertEqual(readLE16(bytes, 32), format.channels * format.bitsPerSample / 8, "block align; \(label)")
            XCTAssertEqual(readLE16(bytes, 34), format.bitsPerSample, label)
            XCTAssertEqual(Array(bytes[36..<40]), Array("data".utf8), label)
            XCTAssertEqual(readLE32(bytes, 40), count, "data size; \(label)")
            XCTAssertEqual(Data(bytes[44...]), pcm, label)
        }
    }

    func testAnOddSizedDataChunkIsFollowedByAPadByte() throws {
        // RIFF chunks are word-aligned: an odd data chunk (8-bit mono, or 24-bit mono with an odd
        // frame count) gets a zero pad byte that the data size excludes and the RIFF size includes.
        for (format, count) in [(PCMFormat(sampleRate: 8_000, bitsPerSample: 8), 7),
                                (PCMFormat(sampleRate: 48_000, bitsPerSample: 24), 3 * 5)] {
            let wav = WAVAudio(format: format, pcm: samples(count))
            let bytes = [UInt8](wav.encoded())
            XCTAssertEqual(bytes.count, 44 + count + 1, "\(format)")
            XCTAssertEqual(readLE32(bytes, 4), bytes.count - 8, "RIFF size counts the pad byte; \(format)")
            XCTAssertEqual(readLE32(bytes, 40), count, "data size excludes the pad byte; \(format)")
            XCTAssertEqual(bytes.last, 0)
            XCTAssertEqual(try WAVAudio.decode(Data(bytes)), wav)
        }
    }

    func testEncodeThenDecodeRoundTrips() throws {
        let formats = [
            PCMFormat(sampleRate: 24_000), PCMFormat(sampleRate: 22_050),
            PCMFormat(sampleRate: 44_100, channels: 2), PCMFormat(sampleRate: 8_000, bitsPerSample: 8),
            PCMFormat(sampleRate: 96_000, channels: 6, bitsPerSample: 24),
            PCMFormat(sampleRate: 1_000, channels: 8, bitsPerSample: 32),
        ]
        for format in formats {
            for frames in [0, 1, 2, 1000] {
                let wav = WAVAudio(format: format, pcm: samples(frames * format.bytesPerFrame))
                let back = try WAVAudio.decode(wav.encoded())
                XCTAssertEqual(back, wav, "\(format), \(frames) frames")
                XCTAssertEqual(back.encoded(), wav.encoded())
            }
        }
    }

    func testDecodeOfADataSliceReadsTheSliceNotItsParent() throws {
        let wav = WAVAudio(format: PCMFormat(sampleRate: 16_000), pcm: samples(64))
        let padded = Data([0xde, 0xad, 0xbe, 0xef]) + wav.encoded() + Data([1, 2, 3])
        let slice = padded[4..<(padded.count - 3)]
        XCTAssertEqual(try WAVAudio.decode(slice), wav)
    }

    // MARK: Accepted variations of real files

    func testAcceptsAListChunkBeforeFmt() throws {
        let pcm = samples(200)
        let info = RIFF.chunk("LIST", Array("INFOISFT".utf8) + RIFF.le32(5) + Array("Lavf\0".utf8) + [0])
        let data = RIFF.file([info, RIFF.chunk("fmt ", RIFF.fmtBody()), RIFF.chunk("data", Array(pcm))])
        let wav = try WAVAudio.decode(data)
        XCTAssertEqual(wav.format, PCMFormat(sampleRate: 24_000))
        XCTAssertEqual(wav.pcm, pcm)
    }

    func testAcceptsAFactChunkBetweenFmtAndData() throws {
        let pcm = samples(300)
        let data = RIFF.file([RIFF.chunk("fmt ", RIFF.fmtBody(rate: 16_000)),
                              RIFF.chunk("fact", RIFF.le32(150)),
                              RIFF.chunk("data", Array(pcm))])
        let wav = try WAVAudio.decode(data)
        XCTAssertEqual(wav.format.sampleRate, 16_000)
        XCTAssertEqual(wav.pcm, pcm)
    }

    func testAcceptsAFmtChunkWithACbSizeExtension() throws {
        // Some writers emit an 18-byte fmt with cbSize = 0 even for plain PCM.
        let pcm = samples(40)
        let data = RIFF.file([RIFF.chunk("fmt ", RIFF.fmtBody(extra: RIFF.le16(0))), RIFF.chunk("data", Array(pcm))])
        XCTAssertEqual(try WAVAudio.decode(data).pcm, pcm)
    }

    func testSkipsAnOddSizedChunkAndItsPadByte() throws {
        let pcm = samples(10)
        let odd = RIFF.chunk("junk", [1, 2, 3, 4, 5])  // 5-byte body + pad byte
        XCTAssertEqual(odd.count, 8 + 6)
        let data = RIFF.file([RIFF.chunk("fmt ", RIFF.fmtBody()), odd, RIFF.chunk("data", Array(pcm))])
        XCTAssertEqual(try WAVAudio.decode(data).pcm, pcm)
    }

    func testAcceptsAnOddSizedDataChunkOf8BitSamplesWithItsPadByte() throws {
        let pcm = samples(7)
        let data = RIFF.file([RIFF.chunk("fmt ", RIFF.fmtBody(rate: 8_000, bits: 8)), RIFF.chunk("data", Array(pcm)),
                              RIFF.chunk("LIST", Array("INFO".utf8))])
        let wav = try WAVAudio.decode(data)
        XCTAssertEqual(wav.pcm, pcm)
        XCTAssertEqual(wav.frameCount, 7)
    }

    func testAcceptsWaveFormatExtensibleWithThePCMSubFormat() throws {
        let pcm = samples(6 * 10)
        let data = RIFF.file([RIFF.chunk("fmt ", RIFF.extensibleFmtBody(subFormat: 1)),
                              RIFF.chunk("fact", RIFF.le32(10)),
                              RIFF.chunk("data", Array(pcm))])
        let wav = try WAVAudio.decode(data)
        XCTAssertEqual(wav.format, PCMFormat(sampleRate: 48_000, channels: 2, bitsPerSample: 24))
        XCTAssertEqual(wav.frameCount, 10)
        XCTAssertEqual(wav.pcm, pcm)
    }

    func testAcceptsARIFFSizeThatDisagreesWithTheFileLength() throws {
        let pcm = samples(20)
        let chunks = [RIFF.chunk("fmt ", RIFF.fmtBody()), RIFF.chunk("data", Array(pcm))]
        XCTAssertEqual(try WAVAudio.decode(RIFF.file(chunks, riffSize: 0)).pcm, pcm)
        XCTAssertEqual(try WAVAudio.decode(RIFF.file(chunks, riffSize: 0xFFFF_FFFF)).pcm, pcm)
    }

    func testIgnoresTrailingBytesAfterTheDataChunk() throws {
        let pcm = samples(20)
        let data = RIFF.file([RIFF.chunk("fmt ", RIFF.fmtBody()), RIFF.chunk("data", Array(pcm))]) + Data([9, 9, 9])
        XCTAssertEqual(try WAVAudio.decode(data).pcm, pcm)
    }

    // MARK: Rejections

    func testRejectsAnEmptyFile() {
        assertRejected(Data(), mentioning: ["empty"])
    }

    func testRejectsFilesShorterThanARIFFHeader() {
        for count in 1..<12 {
            assertRejected(Data(Array("RIFF\u{0}\u{0}\u{0}\u{0}WAVE".utf8).prefix(count)), mentioning: ["\(count) bytes"])
        }
    }

    func testRejectsFilesThatAreNotRIFFWave() {
        let good = [UInt8](WAVAudio(format: PCMFormat(sampleRate: 24_000), pcm: samples(8)).encoded())
        var rifx = good; rifx[3] = UInt8(ascii: "X")
        var avi = good; avi.replaceSubrange(8..<12, with: Array("AVI ".utf8))
        for bytes in [rifx, avi, Array("ID3\u{3}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}".utf8), Array(repeating: 0, count: 64)] {
            assertRejected(Data(bytes), mentioning: ["RIFF"])
        }
    }

    func testRejectsNonPCMFormats() {
        for tag in [3 /* IEEE float */, 6 /* A-law */, 7 /* µ-law */, 2 /* MS ADPCM */, 0x55 /* MP3 */] {
            let bits = tag == 3 ? 32 : 8
            let data = RIFF.file([RIFF.chunk("fmt ", RIFF.fmtBody(tag: tag, bits: bits, extra: RIFF.le16(0))),
                                  RIFF.chunk("fact", RIFF.le32(4)),
                                  RIFF.chunk("data", Array(samples(4 * bits / 8)))])
            assertRejected(data, mentioning: ["format tag \(tag)", "not linear PCM"])
        }
    }

    func testRejectsWaveFormatExtensibleWithAFloatSubFormat() {
        let data = RIFF.file([RIFF.chunk("fmt ", RIFF.extensibleFmtBody(subFormat: 3, bits: 32)),
                              RIFF.chunk("data", Array(samples(8 * 4)))])
        assertRejected(data, mentioning: ["not linear PCM"])
    }

    func testRejectsAnExtensibleFmtTooShortToHoldItsSubFormat() {
        let data = RIFF.file([RIFF.chunk("fmt ", RIFF.fmtBody(tag: 0xFFFE)), RIFF.chunk("data", Array(samples(8)))])
        assertRejected(data, mentioning: ["not linear PCM"])
    }

    func testRejectsADataSizeLargerThanTheFile() {
        let pcm = samples(100)
        let data = RIFF.file([RIFF.chunk("fmt ", RIFF.fmtBody()), RIFF.chunk("data", Array(pcm), size: 200)])
        assertRejected(data, mentioning: ["'data'", "200", "truncated"])
        // The streaming writers' "unknown length" marker is a lie we refuse too.
        let streamed = RIFF.file([RIFF.chunk("fmt ", RIFF.fmtBody()), RIFF.chunk("data", Array(pcm), size: 0xFFFF_FFFF)])
        assertRejected(streamed, mentioning: ["truncated"])
    }

    func testRejectsAFileCutInTheMiddleOfTheData() {
        let whole = WAVAudio(format: PCMFormat(sampleRate: 24_000), pcm: samples(1000)).encoded()
        assertRejected(whole.prefix(44 + 500), mentioning: ["truncated"])
        assertRejected(whole.prefix(44), mentioning: ["truncated"])
    }

    func testRejectsAChunkBeforeFmtThatOverrunsTheFile() {
        let data = RIFF.file([RIFF.chunk("LIST", [1, 2, 3, 4], size: 1_000), RIFF.chunk("fmt ", RIFF.fmtBody())])
        assertRejected(data, mentioning: ["'LIST'", "truncated"])
    }

    func testRejectsADataSizeThatIsNotAWholeNumberOfFrames() {
        let mono16 = RIFF.file([RIFF.chunk("fmt ", RIFF.fmtBody()), RIFF.chunk("data", Array(samples(101)))])
        assertRejected(mono16, mentioning: ["101 bytes", "2-byte frames"])
        let stereo24 = RIFF.file([RIFF.chunk("fmt ", RIFF.fmtBody(channels: 2, bits: 24)), RIFF.chunk("data", Array(samples(6 * 5 + 3)))])
        assertRejected(stereo24, mentioning: ["6-byte frames"])
    }

    func testRejectsAFileWithoutAFmtChunk() {
        assertRejected(RIFF.file([]), mentioning: ["no fmt chunk"])
        assertRejected(RIFF.file([RIFF.chunk("LIST", Array("INFO".utf8))]), mentioning: ["no fmt chunk"])
    }

    func testRejectsAFileWithoutADataChunk() {
        assertRejected(RIFF.file([RIFF.chunk("fmt ", RIFF.fmtBody())]), mentioning: ["no data chunk"])
        assertRejected(RIFF.file([RIFF.chunk("fmt ", RIFF.fmtBody()), RIFF.chunk("fact", RIFF.le32(0))]), mentioning: ["no data chunk"])
    }

    func testRejectsADataChunkBeforeTheFmtChunk() {
        let data = RIFF.file([RIFF.chunk("data", Array(samples(8))), RIFF.chunk("fmt ", RIFF.fmtBody())])
        assertRejected(data, mentioning: ["before the fmt chunk"])
    }

    func testRejectsAFmtChunkShorterThan16Bytes() {
        let data = RIFF.file([RIFF.chunk("fmt ", Array(RIFF.fmtBody().prefix(14))), RIFF.chunk("data", Array(samples(8)))])
        assertRejected(data, mentioning: ["fmt chunk is 14 bytes"])
    }

    func testRejectsAbsurdSampleRates() {
        for rate in [0, 1, 999, 384_001, 0x7FFF_FFFF] {
            let data = RIFF.file([RIFF.chunk("fmt ", RIFF.fmtBody(rate: rate)), RIFF.chunk("data", Array(samples(8)))])
            assertRejected(data, mentioning: ["sample rate \(rate) Hz"])
        }
    }

    func testAcceptsTheSampleRateBounds() throws {
        for rate in [1_000, 8_000, 384_000] {
            let data = RIFF.file([RIFF.chunk("fmt ", RIFF.fmtBody(rate: rate)), RIFF.chunk("data", Array(samples(8)))])
            XCTAssertEqual(try WAVAudio.decode(data).format.sampleRate, rate)
        }
    }

    func testRejectsAbsurdChannelCounts() {
        for channels in [0, 9, 255, 0xFFFF] {
            // Block align and byte rate are written truncated; the channel check comes first.
            var body = RIFF.fmtBody()
            body.replaceSubrange(2..<4, with: RIFF.le16(channels))
            let data = RIFF.file([RIFF.chunk("fmt ", body), RIFF.chunk("data", Array(samples(8)))])
            assertRejected(data, mentioning: ["\(channels) channels"])
        }
    }

    func testRejectsUnsupportedSampleSizes() {
        for bits in [0, 4, 12, 20, 64] {
            var body = RIFF.fmtBody()
            body.replaceSubrange(14..<16, with: RIFF.le16(bits))
            let data = RIFF.file([RIFF.chunk("fmt ", body), RIFF.chunk("data", Array(samples(8)))])
            assertRejected(data, mentioning: ["\(bits) bits per sample"])
        }
    }

    // MARK: Duration

    func testDurationIsWholeMillisecondsRoundedDown() {
        func duration(_ format: PCMFormat, frames: Int) -> Int {
            WAVAudio(format: format, pcm: Data(count: frames * format.bytesPerFrame)).durationMs
        }
        let mono24k = PCMFormat(sampleRate: 24_000)
        XCTAssertEqual(duration(mono24k, frames: 24_000), 1_000)
        XCTAssertEqual(duration(mono24k, frames: 23_999), 999)
        XCTAssertEqual(duration(mono24k, frames: 24), 1)
        XCTAssertEqual(duration(mono24k, frames: 23), 0)
        XCTAssertEqual(duration(mono24k, frames: 0), 0)
        XCTAssertEqual(duration(PCMFormat(sampleRate: 44_100, channels: 2), frames: 44_100 * 3 / 2), 1_500)
        XCTAssertEqual(duration(PCMFormat(sampleRate: 22_050), frames: 22_050 * 2 + 11_025), 2_500)
        XCTAssertEqual(duration(PCMFormat(sampleRate: 22_050), frames: 22), 0)  // 0.997 ms
        XCTAssertEqual(duration(PCMFormat(sampleRate: 8_000, channels: 1, bitsPerSample: 8), frames: 8_001), 1_000)
        XCTAssertEqual(duration(PCMFormat(sampleRate: 48_000, channels: 2, bitsPerSample: 24), frames: 48_000 * 60), 60_000)
    }

    func testDurationCountsWholeFramesOnly() {
        // A partial trailing frame carries no time.
        let wav = WAVAudio(format: PCMFormat(sampleRate: 1_000, channels: 2), pcm: Data(count: 4 * 10 + 3))
        XCTAssertEqual(wav.frameCount, 10)
        XCTAssertEqual(wav.durationMs, 10)
    }

    func testDurationOfAnHourAt384kHzDoesNotOverflow() {
        let format = PCMFormat(sampleRate: 384_000, channels: 1, bitsPerSample: 8)
        let wav = WAVAudio(format: format, pcm: Data(count: 384_000 * 3_600))
        XCTAssertEqual(wav.durationMs, 3_600_000)
    }

    func testDegenerateFormatsHaveZeroDuration() {
        XCTAssertEqual(WAVAudio(format: PCMFormat(sampleRate: 0), pcm: Data(count: 100)).durationMs, 0)
        XCTAssertEqual(WAVAudio(format: PCMFormat(sampleRate: 24_000, channels: 0), pcm: Data(count: 100)).frameCount, 0)
    }

    func testPCMFormatDerivedSizes() {
        let f = PCMFormat(sampleRate: 44_100, channels: 2, bitsPerSample: 24)
        XCTAssertEqual(f.bytesPerFrame, 6)
        XCTAssertEqual(f.byteRate, 264_600)
        XCTAssertEqual(PCMFormat(sampleRate: 24_000), PCMFormat(sampleRate: 24_000, channels: 1, bitsPerSample: 16))
    }

    // MARK: Real files from espeak-ng and sox

    private func espeakWAV(in dir: URL, text: String = "Hello world, this is a cache test.") throws -> URL {
        let espeak = try requireTool("espeak-ng")
        let out = dir.appendingPathComponent("espeak.wav")
        let result = try runTool(espeak, ["-v", "en-us", "-w", out.path, text], in: dir)
        XCTAssertEqual(result.status, 0, "espeak-ng failed: \(result.stderrText)")
        return out
    }

    private func soxSamples(_ file: URL, in dir: URL) throws -> Int? {
        let sox = try requireTool("sox")
        let result = try runTool(sox, ["--i", "-s", file.path], in: dir)
        return Int(result.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    func testDecodesAWAVWrittenByEspeakNg() throws {
        let dir = try makeTemporaryDirectory(self)
        let file = try espeakWAV(in: dir)
        let bytes = try Data(contentsOf: file)
        let wav = try WAVAudio.decode(bytes)
        XCTAssertEqual(wav.format, PCMFormat(sampleRate: 22_050, channels: 1, bitsPerSample: 16))
        XCTAssertEqual(wav.pcm.count, bytes.count - 44, "espeak-ng writes the canonical 44-byte header")
        XCTAssertGreaterThan(wav.durationMs, 500)
        XCTAssertLessThan(wav.durationMs, 10_000)
        XCTAssertTrue(wav.pcm.contains { $0 != 0 }, "speech, not silence")
        // Re-encoding an espeak-ng file reproduces it byte for byte.
        XCTAssertEqual(wav.encoded(), bytes)
    }

    func testDecodesAnExtensible24BitFileWithAFactChunkConvertedBySox() throws {
        let sox = try requireTool("sox")
        let dir = try makeTemporaryDirectory(self)
        let source = try espeakWAV(in: dir)
        let out = dir.appendingPathComponent("s24.wav")
        let result = try runTool(sox, [source.path, "-b", "24", out.path], in: dir)
        XCTAssertEqual(result.status, 0, result.stderrText)
        let bytes = [UInt8](try Data(contentsOf: out))
        // Make sure the file is what this test is about: extensible fmt and a fact chunk.
        XCTAssertEqual(readLE16(bytes, 20), 0xFFFE, "sox writes WAVE_FORMAT_EXTENSIBLE for 24-bit")
        XCTAssertNotNil(bytes.indices.dropLast(4).first { Array(bytes[$0..<$0 + 4]) == Array("fact".utf8) })
        let wav = try WAVAudio.decode(Data(bytes))
        XCTAssertEqual(wav.format, PCMFormat(sampleRate: 22_050, channels: 1, bitsPerSample: 24))
        XCTAssertEqual(wav.frameCount, try soxSamples(out, in: dir))
        XCTAssertEqual(wav.frameCount, try WAVAudio.decode(Data(contentsOf: source)).frameCount)
    }

    func testDecodesAStereo44kFileConvertedBySox() throws {
        let sox = try requireTool("sox")
        let dir = try makeTemporaryDirectory(self)
        let source = try espeakWAV(in: dir)
        let out = dir.appendingPathComponent("stereo.wav")
        let result = try runTool(sox, [source.path, "-c", "2", "-r", "44100", out.path], in: dir)
        XCTAssertEqual(result.status, 0, result.stderrText)
        let wav = try WAVAudio.decode(Data(contentsOf: out))
        XCTAssertEqual(wav.format, PCMFormat(sampleRate: 44_100, channels: 2, bitsPerSample: 16))
        XCTAssertEqual(wav.frameCount, try soxSamples(out, in: dir))
    }

    func testDecodesAnOddLength8BitFileWithPadByteWrittenBySox() throws {
        let sox = try requireTool("sox")
        let dir = try makeTemporaryDirectory(self)
        let source = try espeakWAV(in: dir)
        let out = dir.appendingPathComponent("u8.wav")
        let result = try runTool(sox, [source.path, "-b", "8", out.path, "trim", "0", "1001s"], in: dir)
        XCTAssertEqual(result.status, 0, result.stderrText)
        let bytes = try Data(contentsOf: out)
        XCTAssertEqual(bytes.count, 44 + 1001 + 1, "sox pads the odd data chunk")
        let wav = try WAVAudio.decode(bytes)
        XCTAssertEqual(wav.format, PCMFormat(sampleRate: 22_050, channels: 1, bitsPerSample: 8))
        XCTAssertEqual(wav.frameCount, 1001)
        XCTAssertEqual(wav.encoded(), bytes, "we write the same bytes sox does, pad byte included")
    }

    func testRejectsFloatALawAndMuLawFilesWrittenBySox() throws {
        let sox = try requireTool("sox")
        let dir = try makeTemporaryDirectory(self)
        let source = try espeakWAV(in: dir)
        for (encoding, tag) in [("floating-point", 3), ("a-law", 6), ("u-law", 7)] {
            let out = dir.appendingPathComponent("\(encoding).wav")
            let result = try runTool(sox, [source.path, "-e", encoding, out.path], in: dir)
            XCTAssertEqual(result.status, 0, result.stderrText)
            assertRejected(try Data(contentsOf: out), mentioning: ["format tag \(tag)"])
        }
    }

    func testSoxReadsWhatWeEncode() throws {
        let sox = try requireTool("sox")
        let dir = try makeTemporaryDirectory(self)
        let format = PCMFormat(sampleRate: 24_000, channels: 2, bitsPerSample: 16)
        let wav = WAVAudio(format: format, pcm: samples(4 * 2_400))
        let file = dir.appendingPathComponent("ours.wav")
        try wav.encoded().write(to: file)
        let rate = try runTool(sox, ["--i", "-r", file.path], in: dir)
        let channels = try runTool(sox, ["--i", "-c", file.path], in: dir)
        XCTAssertEqual(rate.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines), "24000", rate.stderrText)
        XCTAssertEqual(channels.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines), "2")
        XCTAssertEqual(try soxSamples(file, in: dir), 2_400)
    }
}

final class StreamingWAVHeaderTests: XCTestCase {
    func testAStreamingHeaderDeclaresAnUnknownLengthAndTheFormat() {
        let header = [UInt8](WAVAudio.streamingHeader(for: PCMFormat(sampleRate: 24_000)))
        XCTAssertEqual(header.count, 44)
        XCTAssertEqual(Array(header[0..<4]), Array("RIFF".utf8))
        XCTAssertEqual(Array(header[4..<8]), [0xFF, 0xFF, 0xFF, 0xFF])
        XCTAssertEqual(Array(header[36..<40]), Array("data".utf8))
        XCTAssertEqual(Array(header[40..<44]), [0xFF, 0xFF, 0xFF, 0xFF])
        XCTAssertEqual(UInt32(header[24]) | UInt32(header[25]) << 8 | UInt32(header[26]) << 16, 24_000)
    }
}
