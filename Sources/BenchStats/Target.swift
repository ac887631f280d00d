/// What a benchmark figure must reach, and whether it did.
///
/// A target is either relative to a baseline measured in the same run (`ratio`: figure ÷
/// baseline) or absolute (`value`: the figure itself). Verdicts are computed, never chosen: a
/// missed target is reported as missed, with its figure.
///
/// ```swift
/// let target = Target(.ratio, .atMost, 3)             // ≤ 3× the floor
/// target.verdict(figure: 14.0, baseline: 5.0)       // .met (2.8×)
/// Target(.value, .atLeast, 20_000).verdict(figure: 18_000, baseline: nil)  // .missed
/// ```
public struct Target: Sendable, Equatable {
    public enum Basis: String, Sendable { case ratio, value }
    public enum Bound: String, Sendable { case atMost = "≤", atLeast = "≥" }

    public var basis: Basis
    public var bound: Bound
    public var limit: Double

    public init(_ basis: Basis, _ bound: Bound, _ limit: Double) {
        self.basis = basis
        self.bound = bound
        self.limit = limit
    }

    /// The compared quantity passes when it is on the right side of the limit (equal passes).
    /// A ratio target without a usable baseline (missing, zero or not finite) cannot be judged.
    public func verdict(figure: Double, baseline: Double?) -> Verdict {
        guard figure.isFinite else { return .unjudged }
        let compared: Double
        switch basis {
        case .value:
            compared = figure
        case .ratio:
            guard let baseline, baseline.isFinite, baseline != 0 else { return .unjudged }
            compared = figure / baseline
        }
        switch bound {
        case .atMost: return compared <= limit ? .met : .missed
        case .atLeast: return compared >= limit ? .met : .missed
        }
    }
}

/// The last column of the table.
public enum Verdict: String, Sendable {
    case met
    case missed
    /// The figure is reported for information; there is no target.
    case info
    /// The scenario could not run here (no Redis server given, …); see its note.
    case skipped
    /// A ratio target whose baseline could not be measured.
    case unjudged
    /// The harness itself failed in this scenario (see its note); no figure is reported.
    case harnessError = "harness error"
}
