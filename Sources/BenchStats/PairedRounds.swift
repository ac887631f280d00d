/// Interleaved rounds of a figure and its baseline, judged round by round: each round's two
/// measurements ran back to back, so their ratio is what the machine's drift between rounds
/// (another tenant, the page cache, the CPU's clock) moves least. The verdict goes to the round
/// whose ratio is the median, and its own two figures are what the report shows.
///
/// A ratio of two medians can pair a figure from a slow minute with a baseline from a fast
/// one: the sqlite3 shell read 10,000 lines at 33,000–65,000 lines/s across the rounds of
/// one afternoon (bench/NOTES.md, 2026-12-04).
///
/// ```swift
/// let rounds = PairedRounds([(figure: 20_000, baseline: 41_000), (figure: 27_000, baseline: 50_000), …])
/// rounds.medianRound   // the round whose figure ÷ baseline is the median
/// ```
public struct PairedRounds: Sendable, Equatable {
    public struct Round: Sendable, Equatable {
        public var figure: Double
        public var baseline: Double
        public var ratio: Double { figure / baseline }

        public init(figure: Double, baseline: Double) {
            self.figure = figure
            self.baseline = baseline
        }
    }

    public let rounds: [Round]

    /// Refuses an empty list, and a round with a baseline that is not a positive number.
    public init(_ rounds: [Round]) throws {
        guard !rounds.isEmpty, rounds.allSatisfy({ $0.baseline > 0 && $0.baseline.isFinite && $0.figure.isFinite }) else {
            throw Stats.EmptySample()
        }
        self.rounds = rounds
    }

    /// The round whose ratio is the median; of an even count, the lower of the middle two, so
    /// the figures shown are always one round's measurements, never an average of two.
    public var medianRound: Round {
        let byRatio = rounds.sorted { $0.ratio < $1.ratio }
        return byRatio[(byRatio.count - 1) / 2]
    }
}
