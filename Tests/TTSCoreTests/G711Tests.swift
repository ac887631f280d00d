import Foundation
import XCTest
@testable import TTSCore

final class G711Tests: XCTestCase {
    /// One quantisation step of the continuous G.711 companding curves (ITU-T G.711's
    /// defining formulas, which the 8-segment codes approximate), in 16-bit units at `x`.
    private func referenceStep(_ law: G711.Law, at sample: Int) -> Double {
        let x = min(1.0, Double(abs(sample)) / 32768)
        switch law {
        case .muLaw:
            let mu = 255.0
            // F(x) = ln(1 + µx) / ln(1 + µ); a step is 1/128 of F's range.
            return log(1 + mu) * (1 + mu * x) / (128 * mu) * 32768
        case .aLaw:
            let a = 87.6
            // F(x) = Ax / (1 + ln A) below 1/A, (1 + ln(Ax)) / (1 + ln A) above.
            let slope = x < 1 / a ? a / (1 + log(a)) : 1 / (x * (1 + log(a)))
            return 1 / (128 * slope) * 32768
        }
    }

    func testKnownCodesDecodeToTheReferenceValues() {
        // Values from the ITU reference implementation (G.191, Sun g711.c).
        XCTAssertEqual(G711.muLaw(decode: 0xFF), 0)
        XCTAssertEqual(G711.muLaw(decode: 0x7F), 0)
        XCTAssertEqual(G711.muLaw(decode: 0x00), -32124)
        XCTAssertEqual(G711.muLaw(decode: 0x80), 32124)
        XCTAssertEqual(G711.muLaw(encode: 0), 0xFF)
        XCTAssertEqual(G711.muLaw(encode: 32767), 0x80)
        XCTAssertEqual(G711.muLaw(encode: -32768), 0x00)
        XCTAssertEqual(G711.aLaw(decode: 0xD5), 8)
        XCTAssertEqual(G711.aLaw(decode: 0x55), -8)
        XCTAssertEqual(G711.aLaw(decode: 0xAA), 32256)
        XCTAssertEqual(G711.aLaw(decode: 0x2A), -32256)
        XCTAssertEqual(G711.aLaw(encode: 0), 0xD5)
        XCTAssertEqual(G711.aLaw(encode: 32767), 0xAA)
        XCTAssertEqual(G711.aLaw(encode: -32768), 0x2A)
    }

    func testEveryCodeDecodesToAValueThatEncodesBackToItself() {
        for law in G711.Law.allCases {
            for code in 0...255 {
                let value = law.decode(UInt8(code))
                let again = law.encode(value)
                // µ-law has two zeros (0x7F, 0xFF); every other code is its own fixed point.
                XCTAssertEqual(law.decode(again), value, "\(law) code \(code)")
            }
        }
    }

    func testRoundTripOfEverySampleStaysWithinTheReferenceQuantisationStep() {
        for law in G711.Law.allCases {
            var worst = 0.0, worstSample = 0
            var previous = Int.min
            for sample in Int(Int16.min)...Int(Int16.max) {
                let back = Int(law.decode(law.encode(Int16(sample))))
                let ratio = Double(abs(back - sample)) / referenceStep(law, at: sample)
                if ratio > worst { worst = ratio; worstSample = sample }
                // A quantiser never reverses order.
                XCTAssertGreaterThanOrEqual(back, previous, "\(law) at \(sample)")
                if back < previous { break }
                previous = back
            }
            XCTAssertLessThanOrEqual(worst, 1.0, "\(law): an error reached \(worst) reference steps at \(worstSample)")
        }
    }

    func testSmallSamplesKeepTheirFineResolution() {
        // Near zero the steps are 8 (µ-law) and 16 (A-law) in 16-bit units.
        for sample in stride(from: -200, through: 200, by: 1) {
            XCTAssertLessThanOrEqual(abs(Int(G711.muLaw(decode: G711.muLaw(encode: Int16(sample)))) - sample), 8, "µ-law \(sample)")
            XCTAssertLessThanOrEqual(abs(Int(G711.aLaw(decode: G711.aLaw(encode: Int16(sample)))) - sample), 8, "A-law \(sample)")
        }
    }

    func testSineThroughEitherLawKeepsAboutThirtyEightDecibelsSNR() {
        for law in G711.Law.allCases {
            var signal = 0.0, noise = 0.0
            for i in 0..<8000 {
                let x = Int16(16000 * sin(2 * Double.pi * 1000 * Double(i) / 8000 + 0.3))
                let y = law.decode(law.encode(x))
                signal += Double(x) * Double(x)
                noise += Double(Int(y) - Int(x)) * Double(Int(y) - Int(x))
            }
            let snr = 10 * log10(signal / noise)
            XCTAssertGreaterThan(snr, 35, "\(law) SNR \(snr) dB")
        }
    }

    func testG711WAVHasItsFormatTagEighteenByteFmtAndFactChunk() {
        for law in G711.Law.allCases {
            let wav = [UInt8](G711WAVWriter.encode([0, 100, -100], law: law, sampleRate: 8000))
            func le16(_ i: Int) -> Int { Int(wav[i]) | Int(wav[i + 1]) << 8 }
            func le32(_ i: Int) -> Int { le16(i) | le16(i + 2) << 16 }
            XCTAssertEqual(String(decoding: wav[0..<4], as: UTF8.self), "RIFF")
            XCTAssertEqual(le32(4), wav.count - 8)
            XCTAssertEqual(String(decoding: wav[12..<16], as: UTF8.self), "fmt ")
            XCTAssertEqual(le32(16), 18)
            XCTAssertEqual(le16(20), law == .muLaw ? 7 : 6)
            XCTAssertEqual(le16(22), 1)          // channels
            XCTAssertEqual(le32(24), 8000)       // rate
            XCTAssertEqual(le32(28), 8000)       // byte rate
            XCTAssertEqual(le16(32), 1)          // block align
            XCTAssertEqual(le16(34), 8)          // bits
            XCTAssertEqual(le16(36), 0)          // cbSize
            XCTAssertEqual(String(decoding: wav[38..<42], as: UTF8.self), "fact")
            XCTAssertEqual(le32(42), 4)
            XCTAssertEqual(le32(46), 3)          // samples
            XCTAssertEqual(String(decoding: wav[50..<54], as: UTF8.self), "data")
            XCTAssertEqual(le32(54), 3)
            XCTAssertEqual(Array(wav[58..<61]), [law.encode(0), law.encode(100), law.encode(-100)])
            XCTAssertEqual(wav.count, 62, "an odd data chunk is padded to an even size")
            // The PCM decoder stays strict: a G.711 file is not PCM.
            XCTAssertThrowsError(try WAVAudio.decode(Data(wav)))
        }
    }
}
