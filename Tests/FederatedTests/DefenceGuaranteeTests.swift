import XCTest
@testable import Federated

/// Each defence declares whether it carries a formal guarantee; DP states epsilon for one update and over a declared
/// training (issue "Verdicts", item 5). Epsilons are Opacus 1.5's RDP accountant (../shared/golden/dp-epsilon.json).
final class DefenceGuaranteeTests: XCTestCase {
    func testOnlyDPIsFormalAndEveryComponentSaysWhy() throws {
        XCTAssertEqual(DefenceSpec.none.guarantee.kind, .none)
        XCTAssertEqual(try DefenceSpec(parsing: "dp:clip=4,sigma=0.5").guarantee.kind, .formal)
        XCTAssertEqual(try DefenceSpec(parsing: "dp:clip=4,sigma=0.5").guarantee.label, "formal (DP)")
        for spec in ["laplace:level=100", "gaussian:relative=1", "prune:p=90", "quantize:bits=4", "quantize:sign", "clip:norm=1",
                     "secagg:clients=2", "clip:norm=1+laplace:level=100"] {
            let g = try DefenceSpec(parsing: spec).guarantee
            XCTAssertEqual(g.kind, .heuristic, spec)
            XCTAssertEqual(g.label, "no formal guarantee", spec)
            XCTAssertFalse(g.reason.isEmpty, spec)
        }
        for c in DefenceSpec.Component.allCases {
            XCTAssertEqual(c.guarantee.kind == .formal, c == .dp, "\(c)")
            XCTAssertTrue(c.guarantee.reason.hasSuffix("."), "\(c): one sentence")
        }
        // A combination lists every component's reason; DP stays formal but its epsilon is nominal after pruning.
        let combo = try DefenceSpec(parsing: "dp:clip=4,sigma=0.5+prune:p=90+secagg:clients=2").guarantee
        XCTAssertEqual(combo.kind, .formal)
        XCTAssertTrue(combo.reason.contains(DefenceSpec.Component.prune.guarantee.reason))
        XCTAssertTrue(combo.reason.contains(DefenceSpec.Component.secagg.guarantee.reason))
        XCTAssertTrue(combo.reason.hasSuffix("the stated epsilon is nominal."), combo.reason)
    }

    func testWholeTrainingEpsilonComposesTheRounds() throws {
        let dp = try DefenceSpec(parsing: "dp:clip=4,sigma=0.5")
        // One round at the spec's own rate (q = 1, 1 step) is the one-update epsilon.
        XCTAssertEqual(try XCTUnwrap(dp.trainingEpsilon(rounds: 1)), 10.725509696418232, accuracy: 1e-6 * 10.7)
        XCTAssertEqual(try XCTUnwrap(dp.dp?.epsilon), 10.725509696418232, accuracy: 1e-6 * 10.7)
        // 100 rounds at q = 0.01 (Opacus: 8.0307), at q = 0.05 (20.909); 100 rounds at q = 1 (294.86).
        XCTAssertEqual(try XCTUnwrap(dp.trainingEpsilon(rounds: 100, sampleRate: 0.01)), 8.030725352808414, accuracy: 1e-5 * 8.03)
        XCTAssertEqual(try XCTUnwrap(dp.trainingEpsilon(rounds: 100, sampleRate: 0.05)), 20.909315344809958, accuracy: 1e-5 * 20.9)
        XCTAssertEqual(try XCTUnwrap(dp.trainingEpsilon(rounds: 100)), 294.8612600716533, accuracy: 1e-5 * 294.9)
        // A spec of 10 steps per update composes 10 x rounds releases.
        let ten = try DefenceSpec(parsing: "dp:clip=4,sigma=0.5,sample-rate=0.01,steps=10")
        XCTAssertEqual(try XCTUnwrap(ten.trainingEpsilon(rounds: 100)), 15.464268471279555, accuracy: 1e-5 * 15.5)
        XCTAssertNil(try DefenceSpec(parsing: "laplace:level=100").trainingEpsilon(rounds: 100), "not DP: no epsilon")
    }
}
