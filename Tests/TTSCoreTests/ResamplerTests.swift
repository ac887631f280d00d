import Foundation
import XCTest
@testable import TTSCore

final class ResamplerTests: XCTestCase {
    private func tone(_ frequency: Double, rate: Int, seconds: Double = 0.5, amplitude: Double = 0.5) -> [Float] {
        (0..<Int(Double(rate) * seconds)).map { Float(amplitude * sin(2 * Double.pi * frequency * Double($0) / Double(rate))) }
    }

    /// RMS over the middle 80 %, away from the filter's start and end transients.
    private func steadyRMS(_ x: [Float]) -> Double {
        let middle = x[(x.count / 10)..<(x.count - x.count / 10)]
        return (middle.reduce(0.0) { $0 + Double($1) * Double($1) } / Double(middle.count)).squareRoot()
    }

    private func decibels(_ ratio: Double) -> Double { 20 * log10(ratio) }

    func testOneKilohertzToneKeepsItsLevelFrom24kTo8k() {
        let input = tone(1000, rate: 24_000)
        let output = Resampler(from: 24_000, to: 8000).resample(input)
        let change = decibels(steadyRMS(output) / steadyRMS(input))
        XCTAssertLessThan(abs(change), 0.5, "1 kHz changed by \(change) dB")
    }

    func testTenKilohertzToneAt24kIsAttenuatedAtLeast40dBAt8k() {
        let input = tone(10_000, rate: 24_000)
        let output = Resampler(from: 24_000, to: 8000).resample(input)
        let attenuation = decibels(steadyRMS(output) / steadyRMS(input))
        XCTAssertLessThan(attenuation, -40, "10 kHz aliased at only \(attenuation) dB")
    }

    func testToneJustBelowTheNewNyquistAliasesNoEnergyFromAbove() {
        // 5 kHz at 22.05 kHz → 8 kHz would fold to 3 kHz without a filter.
        let input = tone(5000, rate: 22_050)
        let output = Resampler(from: 22_050, to: 8000).resample(input)
        XCTAssertLessThan(decibels(steadyRMS(output) / steadyRMS(input)), -40)
    }

    func testUpsamplingKeepsTheLevelOfAPassbandTone() {
        for (from, to) in [(8000, 48_000), (22_050, 44_100), (24_000, 22_050), (22_050, 16_000)] {
            let input = tone(1000, rate: from)
            let output = Resampler(from: from, to: to).resample(input)
            let change = decibels(steadyRMS(output) / steadyRMS(input))
            XCTAssertLessThan(abs(change), 0.5, "\(from)→\(to): 1 kHz changed by \(change) dB")
        }
    }

    func testOutputLengthFollowsTheRatio() {
        let resampler = Resampler(from: 22_050, to: 8000)
        XCTAssertEqual(resampler.resample([Float](repeating: 0, count: 22_050)).count, 8000)
        XCTAssertEqual(resampler.outputCount(for: 441), 160)
        XCTAssertEqual(resampler.outputCount(for: 1), 1)
        XCTAssertEqual(resampler.resample([]).count, 0)
    }

    func testConstantSignalPassesAtUnitGain() {
        let output = Resampler(from: 24_000, to: 16_000).resample([Float](repeating: 0.25, count: 4800))
        for sample in output[200..<(output.count - 200)] { XCTAssertEqual(sample, 0.25, accuracy: 1e-4) }
    }

    func testEqualRatesReturnTheInputUnchanged() {
        let input = tone(440, rate: 16_000, seconds: 0.01)
        XCTAssertEqual(Resampler(from: 16_000, to: 16_000).resample(input), input)
    }

    func testOddRatesWithoutACoefficientTableStillResample() {
        // 22051 Hz is not a rate anyone uses, but a damaged header could say so.
        let resampler = Resampler(from: 22_051, to: 48_000)
        let input = tone(1000, rate: 22_051, seconds: 0.05)
        let output = resampler.resample(input)
        XCTAssertEqual(output.count, resampler.outputCount(for: input.count))
        XCTAssertLessThan(abs(decibels(steadyRMS(output) / steadyRMS(input))), 0.5)
    }
}

final class AudioTranscoderTests: XCTestCase {
    func testPCMClipIsConvertedToEightKilohertzMuLawWithTheRightLength() {
        var pcm = Data()
        for i in 0..<2400 {
            let s = Int16(8000 * sin(2 * Double.pi * 1000 * Double(i) / 24_000))
            pcm.append(UInt8(truncatingIfNeeded: s)); pcm.append(UInt8(truncatingIfNeeded: s >> 8))
        }
        let out = AudioTranscoder.convert(WAVAudio(format: PCMFormat(sampleRate: 24_000), pcm: pcm),
                                          to: AudioTarget(sampleRate: 8000, encoding: .ulaw))
        XCTAssertEqual(out.sampleRate, 8000)
        XCTAssertEqual(out.frames, 800)
        XCTAssertEqual(out.durationMs, 100)
        XCTAssertEqual(out.wav.count, 58 + 800)
    }

    func testTargetNamesAreStableFolderNames() {
        XCTAssertEqual(AudioTarget(sampleRate: 8000, encoding: .alaw).name, "8000-alaw")
        XCTAssertEqual(AudioTarget(encoding: .ulaw).name, "source-ulaw")
        XCTAssertTrue(AudioTarget(sampleRate: 22_050).isSatisfied(by: PCMFormat(sampleRate: 22_050)))
        XCTAssertFalse(AudioTarget(sampleRate: 8000).isSatisfied(by: PCMFormat(sampleRate: 22_050)))
    }
}
