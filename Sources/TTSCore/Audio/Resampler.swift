import Foundation

/// Changes the sample rate of audio with a Kaiser-windowed sinc low-pass, evaluated as a
/// polyphase filter: the ratio `to/from` is reduced to `L/M`, and output sample `n` sits at
/// input position `n·M/L`, so only `L` distinct coefficient sets ("phases") exist and are
/// computed once.
///
/// Why a windowed sinc and not linear interpolation: taking 24 kHz speech to 8 kHz for an IVR
/// folds everything between 4 and 12 kHz back into the band (sibilants turn into whistles).
/// The cutoff sits at 90 % of the lower Nyquist frequency; the Kaiser window (β = 9) keeps
/// the stop band below about −80 dB and the pass band flat to a few hundredths of a dB.
///
/// ```swift
/// let down = Resampler(from: 24_000, to: 8_000)
/// let out = down.resample(samples)   // samples: [Float] in −1…1, one channel
/// ```
public struct Resampler: Sendable {
    public let inputRate: Int
    public let outputRate: Int
    /// Interpolation and decimation factors: `outputRate/inputRate` in lowest terms.
    let up: Int
    let down: Int
    /// Taps either side of the centre, in input samples.
    let halfTaps: Int
    /// Cutoff in cycles per input sample (0.5 is the input Nyquist frequency).
    let cutoff: Double
    let beta: Double
    /// `up` rows of `2·halfTaps` coefficients, or nil when `up` is so large (an odd input rate)
    /// that a table would cost more than computing each output sample's coefficients.
    let phases: [[Float]]?

    /// Zero crossings of the sinc on each side: longer filters give a sharper transition.
    static let zeroCrossings = 24.0
    /// The pass band ends at this fraction of the lower Nyquist frequency.
    static let rolloff = 0.90
    static let maxTableSize = 2_000_000

    public init(from inputRate: Int, to outputRate: Int) {
        precondition(inputRate > 0 && outputRate > 0, "sample rates must be positive")
        self.inputRate = inputRate
        self.outputRate = outputRate
        let g = gcd(inputRate, outputRate)
        up = outputRate / g
        down = inputRate / g
        cutoff = 0.5 * Resampler.rolloff * min(1.0, Double(outputRate) / Double(inputRate))
        // The sinc's zero crossings are 1/(2·cutoff) input samples apart.
        halfTaps = Int((Resampler.zeroCrossings / (2 * cutoff)).rounded(.up))
        beta = 9.0
        if up * 2 * halfTaps <= Resampler.maxTableSize {
            var table: [[Float]] = []
            table.reserveCapacity(up)
            for phase in 0..<up {
                table.append(Resampler.coefficients(fraction: Double(phase) / Double(up), halfTaps: halfTaps,
                                                    cutoff: cutoff, beta: beta))
            }
            phases = table
        } else {
            phases = nil
        }
    }

    /// How many samples `resample` returns for `count` input samples: `ceil(count·L/M)`.
    public func outputCount(for count: Int) -> Int {
        (count * up + down - 1) / down
    }

    /// Resamples one channel. Samples outside the input count as silence, so the first and
    /// last few milliseconds fade in the filter's transient, as with any FIR resampler.
    public func resample(_ input: [Float]) -> [Float] {
        if up == down { return input }
        let count = outputCount(for: input.count)
        var output = [Float](repeating: 0, count: count)
        input.withUnsafeBufferPointer { x in
            output.withUnsafeMutableBufferPointer { y in
                for n in 0..<count { y[n] = sample(n, of: x, startingAt: 0, signalLength: x.count) }
            }
        }
        return output
    }

    /// Output sample `n` of a signal `signalLength` samples long, of which `x` holds the samples
    /// from index `offset` on: every input the sample's taps reach inside the signal must be in
    /// `x`. Samples outside the signal count as silence. One definition for the whole-signal
    /// `resample` and for `StreamingResampler`, so both give the same bits.
    func sample(_ n: Int, of x: UnsafeBufferPointer<Float>, startingAt offset: Int, signalLength: Int) -> Float {
        let position = n * down
        let base = position / up
        let phase = position % up
        let taps = phases?[phase] ?? Resampler.coefficients(
            fraction: Double(phase) / Double(up), halfTaps: halfTaps, cutoff: cutoff, beta: beta)
        // Tap k multiplies x[base + k - halfTaps + 1], k in 0..<2·halfTaps.
        let first = base - halfTaps + 1
        let lo = max(0, -first)
        let hi = min(taps.count, signalLength - first)
        var sum: Float = 0
        if lo < hi {
            let at = first - offset
            for k in lo..<hi { sum += x[at + k] * taps[k] }
        }
        return sum
    }

    /// The first input sample output `n` reads (its first tap), clamped to the signal's start.
    func firstInput(of n: Int) -> Int { max(0, (n * down) / up - halfTaps + 1) }

    /// Whether output `n` reads no input at or past `available`.
    func isComplete(_ n: Int, given available: Int) -> Bool { (n * down) / up + halfTaps < available }

    /// Coefficients for an output sample `fraction` (0..<1) of an input sample after `base`:
    /// tap k weights the input at offset `k − halfTaps + 1`, i.e. distance `fraction − offset`.
    /// Normalised to sum 1 so every phase passes DC at exactly unit gain.
    static func coefficients(fraction: Double, halfTaps: Int, cutoff: Double, beta: Double) -> [Float] {
        var taps = [Double](repeating: 0, count: 2 * halfTaps)
        let i0Beta = besselI0(beta)
        var sum = 0.0
        for k in 0..<(2 * halfTaps) {
            let t = fraction - Double(k - halfTaps + 1)
            let u = t / Double(halfTaps)
            guard abs(u) < 1 else { continue }
            let x = 2 * cutoff * t
            let sinc = x == 0 ? 1.0 : sin(Double.pi * x) / (Double.pi * x)
            let window = besselI0(beta * (1 - u * u).squareRoot()) / i0Beta
            taps[k] = 2 * cutoff * sinc * window
            sum += taps[k]
        }
        return taps.map { Float($0 / sum) }
    }

    /// The modified Bessel function of the first kind, order 0, by its power series.
    static func besselI0(_ x: Double) -> Double {
        var sum = 1.0
        var term = 1.0
        let half = x / 2
        for k in 1..<64 {
            term *= (half / Double(k)) * (half / Double(k))
            sum += term
            if term < sum * 1e-17 { break }
        }
        return sum
    }
}

private func gcd(_ a: Int, _ b: Int) -> Int {
    var (a, b) = (a, b)
    while b != 0 { (a, b) = (b, a % b) }
    return a
}
