import XCTest
import BenchStats

final class StatsTests: XCTestCase {
    func testMedianOfOddCountIsTheMiddleValue() throws {
        XCTAssertEqual(try Stats([9, 1, 5]).median, 5)
    }

    func testMedianOfEvenCountIsTheMeanOfTheMiddleTwo() throws {
        XCTAssertEqual(try Stats([4, 1, 3, 2]).median, 2.5)
    }

    func testP99InterpolatesBetweenTheTwoLargestOfOneHundredValues() throws {
        let stats = try Stats((1...100).map(Double.init))
        XCTAssertEqual(stats.p99, 99.01, accuracy: 1e-9)
        XCTAssertEqual(stats.p50, 50.5, accuracy: 1e-9)
    }

    func testOneOutlierMovesP99ButNotTheMedian() throws {
        let stats = try Stats(Array(repeating: 10, count: 99) + [1000])
        XCTAssertEqual(stats.median, 10)
        XCTAssertGreaterThan(stats.p99, 10)
        XCTAssertEqual(stats.max, 1000)
    }

    func testPercentilesAreClampedToTheSample() throws {
        let stats = try Stats([3, 7])
        XCTAssertEqual(stats.percentile(-5), 3)
        XCTAssertEqual(stats.percentile(250), 7)
    }

    func testEmptyOrNaNSampleIsRefused() {
        XCTAssertThrowsError(try Stats([]))
        XCTAssertThrowsError(try Stats([1, .nan]))
    }
}

final class TargetTests: XCTestCase {
    func testRatioTargetComparesFigureOverBaseline() {
        let target = Target(.ratio, .atMost, 3)
        XCTAssertEqual(target.verdict(figure: 15, baseline: 5), .met)
        XCTAssertEqual(target.verdict(figure: 15.1, baseline: 5), .missed)
    }

    func testAtLeastTargetOnAbsoluteValueIgnoresBaseline() {
        let target = Target(.value, .atLeast, 20_000)
        XCTAssertEqual(target.verdict(figure: 25_000, baseline: 1), .met)
        XCTAssertEqual(target.verdict(figure: 19_999, baseline: nil), .missed)
    }

    func testRatioTargetWithoutUsableBaselineIsUnjudged() {
        let target = Target(.ratio, .atLeast, 0.5)
        XCTAssertEqual(target.verdict(figure: 1, baseline: nil), .unjudged)
        XCTAssertEqual(target.verdict(figure: 1, baseline: 0), .unjudged)
        XCTAssertEqual(target.verdict(figure: .infinity, baseline: 1), .unjudged)
    }
}
