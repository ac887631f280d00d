import XCTest
import BenchStats

final class PairedRoundsTests: XCTestCase {
    private func round(_ figure: Double, _ baseline: Double) -> PairedRounds.Round {
        PairedRounds.Round(figure: figure, baseline: baseline)
    }

    func testTheMedianRoundIsChosenByItsRatioNotByEitherFigure() throws {
        // Ratios 0.40, 0.60, 0.50: the round with 0.50, although neither of its figures is a median.
        let rounds = try PairedRounds([round(20, 50), round(36, 60), round(15, 30)])
        XCTAssertEqual(rounds.medianRound, round(15, 30))
        XCTAssertEqual(rounds.medianRound.ratio, 0.5)
    }

    func testARatioOfMediansCanPairUnlikeRoundsWhereTheMedianRoundDoesNot() throws {
        // Ratios 0.50, 0.33, 0.25. The medians (25 and 90) come from different rounds: 0.28.
        let rounds = try PairedRounds([round(20, 40), round(30, 90), round(25, 100)])
        XCTAssertEqual(try Stats([20, 30, 25]).median / Stats([40, 90, 100]).median, 25.0 / 90, accuracy: 1e-9)
        XCTAssertEqual(rounds.medianRound, round(30, 90))
    }

    func testOfAnEvenCountTheLowerMiddleRoundIsTaken() throws {
        let rounds = try PairedRounds([round(6, 10), round(4, 10), round(5, 10), round(7, 10)])
        XCTAssertEqual(rounds.medianRound, round(5, 10))
    }

    func testNoRoundsOrAZeroBaselineIsRefused() {
        XCTAssertThrowsError(try PairedRounds([]))
        XCTAssertThrowsError(try PairedRounds([round(1, 0)]))
        XCTAssertThrowsError(try PairedRounds([round(.nan, 1)]))
    }
}
