import XCTest
@testable import Metrics

/// The interval and re-identification formulas the verdicts rest on, pinned to values computed independently
/// (statsmodels' `proportion_confint(k, n, method="wilson")`, which these match to 1e-12).
final class IntervalTests: XCTestCase {
    func testWilsonIntervalsMatchKnownValues() throws {
        let cases: [(Int, Int, Double, Double)] = [
            (0, 6, 0, 0.390334287902165),            // "0 of 6" is compatible with a true rate of 39%
            (5, 6, 0.436497177813530, 0.969946630251693),
            (3, 10, 0.107791267406301, 0.603221852538855),
            (1, 31, 0.005717221525417, 0.161941051647249),
            (6, 6, 0.609665712097835, 1),
        ]
        for (k, n, lo, hi) in cases {
            let i = try XCTUnwrap(Proportion.wilson(k, n))
            XCTAssertEqual(i.lowerBound, lo, accuracy: 1e-12, "\(k)/\(n)")
            XCTAssertEqual(i.upperBound, hi, accuracy: 1e-12, "\(k)/\(n)")
        }
        XCTAssertNil(Proportion.wilson(0, 0), "no interval from an empty sample")
        XCTAssertEqual(Proportion(0, of: 6).inWords, "0 of 6 (95% CI 0%–39%)")
        XCTAssertEqual(Proportion(5, of: 6).estimate!, 5.0 / 6, accuracy: 1e-15)
        // The interval narrows as the sample grows: at 5% observed, ±5 points needs ~70 images, not 6.
        let n = Proportion.sampleSize(rate: 0.05, halfWidth: 0.05)
        XCTAssertTrue((60...90).contains(n), "\(n)")
        let w = try XCTUnwrap(Proportion.wilson(Int((0.05 * Double(n)).rounded()), n))
        XCTAssertLessThanOrEqual((w.upperBound - w.lowerBound) / 2, 0.05)
    }

    func testWilsonIsCodedWithItsBounds() throws {
        let data = try JSONEncoder().encode(Proportion(5, of: 6))
        let o = try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
        XCTAssertEqual(o["lower"] as? Double ?? 0, 0.436497177813530, accuracy: 1e-12)
        XCTAssertEqual(o["upper"] as? Double ?? 0, 0.969946630251693, accuracy: 1e-12)
        XCTAssertEqual(try JSONDecoder().decode(Proportion.self, from: data), Proportion(5, of: 6))
    }

    func testRankCountsTiesAgainstTheAttacker() {
        XCTAssertEqual(Reidentification.rank(trueScore: 0.9, others: [0.1, 0.5, 0.89]), 1)
        XCTAssertEqual(Reidentification.rank(trueScore: 0.5, others: [0.1, 0.6, 0.7]), 3)
        // A reconstruction equally close to two images singles out neither.
        XCTAssertEqual(Reidentification.rank(trueScore: 0.5, others: [0.5, 0.2]), 2)
        XCTAssertEqual(Reidentification.rank(trueScore: .nan, others: [0.1, 0.2]), 3, "an unscorable reconstruction ranks last")
    }

    func testCosineAndRDLV() {
        XCTAssertEqual(Reidentification.cosine([1, 0, 0], [2, 0, 0]), 1, accuracy: 1e-12)
        XCTAssertEqual(Reidentification.cosine([1, 0], [0, 3]), 0, accuracy: 1e-12)
        XCTAssertEqual(Reidentification.cosine([1, 1], [-1, -1]), -1, accuracy: 1e-12)
        XCTAssertEqual(Reidentification.cosine([0, 0], [1, 1]), 0)
        // NVFlare's RDLV: (0.6 - 0.2) / 0.2 = 2; not defined below a prior SSIM of 0.05.
        XCTAssertEqual(Reidentification.rdlv(reconstruction: 0.6, prior: 0.2)!, 2, accuracy: 1e-12)
        XCTAssertEqual(Reidentification.rdlv(reconstruction: 0.1, prior: 0.2)!, -0.5, accuracy: 1e-12)
        XCTAssertNil(Reidentification.rdlv(reconstruction: 0.6, prior: 0.049))
    }
}
