import Foundation
import XCTest
@testable import Federated

/// Opacus 1.6 RDP accountant values from the golden file (copied into Fixtures/).
final class RDPAccountantTests: XCTestCase {
    struct Golden: Decodable {
        struct Eps: Decodable { let sigma: Double; let sample_rate: Double; let steps: Int; let delta: Double; let epsilon: Double }
        struct Sigma: Decodable { let target_epsilon: Double; let delta: Double; let sample_rate: Double; let steps: Int; let sigma: Double }
        let epsilon: [Eps]
        let noise_multiplier: [Sigma]
    }

    static let golden: Golden = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Fixtures/dp-epsilon.json")
        return try! JSONDecoder().decode(Golden.self, from: Data(contentsOf: url))
    }()

    func testDefaultOrders() {
        let o = RDPAnalysis.defaultOrders
        XCTAssertEqual(o.count, 99 + 52)
        XCTAssertEqual(o.first, 1.1)
        XCTAssertEqual(o[98], 10.9)
        XCTAssertEqual(o[99], 12)
        XCTAssertEqual(o.last, 63)
        XCTAssertEqual(o.filter { $0 == $0.rounded() }.count, 9 + 52)   // 2.0 ... 10.0 are integers
    }

    func testEpsilonGolden() {
        XCTAssertEqual(Self.golden.epsilon.count, 60)
        var worst = 0.0
        for g in Self.golden.epsilon {
            let eps = RDPAccountant.epsilon(noiseMultiplier: g.sigma, sampleRate: g.sample_rate, steps: g.steps, delta: g.delta)
            // The brief asks for 1e-3 relative; this implementation agrees with Opacus to ~5e-13.
            XCTAssertEqual(eps, g.epsilon, accuracy: 1e-9 * g.epsilon,
                           "sigma \(g.sigma) q \(g.sample_rate) steps \(g.steps)")
            worst = max(worst, abs(eps - g.epsilon) / g.epsilon)
        }
        print("RDP golden: worst relative epsilon error \(worst)")
    }

    func testNoiseMultiplierGolden() throws {
        XCTAssertEqual(Self.golden.noise_multiplier.count, 9)
        for g in Self.golden.noise_multiplier {
            let sigma = try RDPAccountant.noiseMultiplier(targetEpsilon: g.target_epsilon, delta: g.delta,
                                                          sampleRate: g.sample_rate, steps: g.steps)
            XCTAssertEqual(sigma, g.sigma, accuracy: 1e-3 * g.sigma, "target \(g.target_epsilon) q \(g.sample_rate)")
            XCTAssertEqual(sigma, g.sigma, "Opacus's bisection lands on the same dyadic point")
        }
    }

    func testAccountantComposesSteps() {
        var a = RDPAccountant()
        XCTAssertEqual(a.epsilon(delta: 1e-5), 0)
        for _ in 0..<100 { a.step(noiseMultiplier: 0.8, sampleRate: 0.01) }
        XCTAssertEqual(a.history.count, 1)
        XCTAssertEqual(a.history[0].steps, 100)
        XCTAssertEqual(a.epsilon(delta: 1e-5), 2.185316245509876, accuracy: 2.2e-3)
        a.step(noiseMultiplier: 1.1, sampleRate: 0.01, steps: 5)
        XCTAssertEqual(a.history.count, 2)
        XCTAssertGreaterThan(a.epsilon(delta: 1e-5), 2.185316245509876)
    }

    func testEdgeCases() {
        XCTAssertEqual(RDPAnalysis.rdp(sampleRate: 0, noiseMultiplier: 1, order: 2), 0)
        XCTAssertEqual(RDPAnalysis.rdp(sampleRate: 0.1, noiseMultiplier: 0, order: 2), .infinity)
        XCTAssertEqual(RDPAnalysis.rdp(sampleRate: 1, noiseMultiplier: 2, order: 3), 3.0 / 8)
        XCTAssertEqual(RDPAccountant.epsilon(noiseMultiplier: 0, sampleRate: 0.1, steps: 1, delta: 1e-5), .infinity)
        XCTAssertThrowsError(try RDPAccountant.noiseMultiplier(targetEpsilon: 0.01, delta: 1e-5, sampleRate: 1, steps: 1))
    }

    func testLogSpaceHelpers() {
        XCTAssertEqual(LogSpace.add(log(2), log(3)), log(5), accuracy: 1e-15)
        XCTAssertEqual(LogSpace.add(-.infinity, 1), 1)
        XCTAssertEqual(LogSpace.sub(log(5), log(3)), log(2), accuracy: 1e-15)
        XCTAssertEqual(LogSpace.sub(1, 1), -.infinity)
        XCTAssertEqual(LogSpace.sub(1, -.infinity), 1)
        XCTAssertTrue(LogSpace.sub(1, 2).isNaN)
        XCTAssertEqual(LogSpace.sub(1000, 1), 1000)
        for x in [-3.0, -0.5, 0, 0.5, 2, 10, 25] {
            XCTAssertEqual(LogSpace.logErfc(x), log(erfc(x)), accuracy: 1e-12 * max(1, abs(log(erfc(x)))))
        }
        // Continuity across the switch to the asymptotic series, and the known leading behaviour.
        XCTAssertEqual(LogSpace.logErfc(25.000001), LogSpace.logErfc(25), accuracy: 1e-4)
        let x = 100.0
        XCTAssertEqual(LogSpace.logErfc(x), -x * x - log(x) - 0.5 * log(Double.pi) + log1p(-1 / (2 * x * x) + 3 / (4 * x * x * x * x)),
                       accuracy: 1e-12 * x * x)
    }
}
