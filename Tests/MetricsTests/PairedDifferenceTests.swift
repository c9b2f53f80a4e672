import XCTest
@testable import Metrics

/// The paired interval on an accuracy drop (Newcombe's method 10), pinned to values computed independently by
/// `scripts/experiments/paired_interval.py` (plain Python, the formula as Fagerland, Lydersen & Laake 2014 give it).
final class PairedDifferenceTests: XCTestCase {
    func testNewcombeIntervalMatchesReferenceValues() throws {
        // (right both, lost by the defence, gained, wrong both) -> drop, lower, upper
        let cases: [(Int, Int, Int, Int, Double, Double, Double)] = [
            (1, 1, 7, 12, -0.285714285714, -0.501662540302, -0.036052553489),   // Bentur et al.'s table in Fagerland et al. 2014
            (18, 2, 1, 10, 0.032258064516, -0.074846178705, 0.138373653346),    // a 31-image test set, one net image lost
            (20, 0, 0, 11, 0, -0.032009630940, 0.032009630940),                 // no image changes: still ±3 points, not a point
            (0, 0, 0, 31, 0, -0.110255395460, 0.110255395460),                  // a broken model both ways
        ]
        for (a, b, c, d, drop, lo, hi) in cases {
            let p = PairedDifference(bothRight: a, lost: b, gained: c, bothWrong: d)
            XCTAssertEqual(try XCTUnwrap(p.drop), drop, accuracy: 1e-9, "\(a),\(b),\(c),\(d)")
            let i = try XCTUnwrap(p.interval)
            XCTAssertEqual(i.lowerBound, lo, accuracy: 1e-10, "\(a),\(b),\(c),\(d)")
            XCTAssertEqual(i.upperBound, hi, accuracy: 1e-10, "\(a),\(b),\(c),\(d)")
        }
        XCTAssertNil(PairedDifference(bothRight: 0, lost: 0, gained: 0, bothWrong: 0).interval)
    }

    func testTableFromOutcomesAndPairsNeeded() throws {
        let base: [Bool] = [true, true, true, false, false, true]
        let def: [Bool] = [true, false, true, false, true, false]
        let p = try XCTUnwrap(PairedDifference(baseline: base, defended: def))
        XCTAssertEqual([p.bothRight, p.lost, p.gained, p.bothWrong], [2, 2, 1, 1])
        XCTAssertEqual(p.baseline.count, 4); XCTAssertEqual(p.defended.count, 3)
        XCTAssertNil(PairedDifference(baseline: base, defended: [true]), "unpaired outcomes")
        // How many test images would show a 3.2-point drop within a 5-point budget: 1166 (the Python script's figure).
        let needed = try XCTUnwrap(PairedDifference(bothRight: 18, lost: 2, gained: 1, bothWrong: 10).pairsNeeded(toShowWithin: 0.05))
        XCTAssertTrue((1165...1167).contains(needed), "\(needed)")
        let none = try XCTUnwrap(PairedDifference(bothRight: 20, lost: 0, gained: 0, bothWrong: 11).pairsNeeded(toShowWithin: 0.02))
        XCTAssertTrue((52...54).contains(none), "\(none)")
        XCTAssertNil(PairedDifference(bothRight: 10, lost: 8, gained: 0, bothWrong: 13).pairsNeeded(toShowWithin: 0.05),
                     "a measured drop over the budget cannot be shown within it")
        XCTAssertEqual(PairedDifference(bothRight: 20, lost: 0, gained: 0, bothWrong: 11).pairsNeeded(toShowWithin: 0.05), 31,
                       "already shown")
    }
}
