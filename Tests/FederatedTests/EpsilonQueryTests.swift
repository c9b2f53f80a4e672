import Foundation
import XCTest
@testable import Federated

/// `medpfl dp-epsilon` is a thin wrapper over `EpsilonQuery`: it must give the accountant's answers.
final class EpsilonQueryTests: XCTestCase {
    func testEpsilonMatchesTheAccountantAndOpacus() throws {
        for g in RDPAccountantTests.golden.epsilon {
            let q = try EpsilonQuery(sigma: g.sigma, targetEpsilon: nil, sampleRate: g.sample_rate, steps: g.steps, delta: g.delta)
            XCTAssertEqual(q.epsilon, RDPAccountant.epsilon(noiseMultiplier: g.sigma, sampleRate: g.sample_rate, steps: g.steps, delta: g.delta))
            XCTAssertEqual(q.epsilon, g.epsilon, accuracy: 1e-9 * g.epsilon)
        }
    }

    func testSigmaForTargetMatchesTheAccountant() throws {
        for g in RDPAccountantTests.golden.noise_multiplier {
            let q = try EpsilonQuery(sigma: nil, targetEpsilon: g.target_epsilon, sampleRate: g.sample_rate, steps: g.steps, delta: g.delta)
            XCTAssertEqual(q.sigma, try RDPAccountant.noiseMultiplier(targetEpsilon: g.target_epsilon, delta: g.delta,
                                                                      sampleRate: g.sample_rate, steps: g.steps))
            XCTAssertLessThanOrEqual(q.epsilon, g.target_epsilon)
        }
    }

    func testBadQuestions() {
        XCTAssertThrowsError(try EpsilonQuery(sigma: nil, targetEpsilon: nil, sampleRate: 0.1, steps: 1, delta: 1e-5))
        XCTAssertThrowsError(try EpsilonQuery(sigma: 1, targetEpsilon: 1, sampleRate: 0.1, steps: 1, delta: 1e-5))
        XCTAssertThrowsError(try EpsilonQuery(sigma: 0, targetEpsilon: nil, sampleRate: 0.1, steps: 1, delta: 1e-5))
        XCTAssertThrowsError(try EpsilonQuery(sigma: 1, targetEpsilon: nil, sampleRate: 1.5, steps: 1, delta: 1e-5))
        XCTAssertThrowsError(try EpsilonQuery(sigma: 1, targetEpsilon: nil, sampleRate: 0.1, steps: 0, delta: 1e-5))
        XCTAssertThrowsError(try EpsilonQuery(sigma: 1, targetEpsilon: nil, sampleRate: 0.1, steps: 1, delta: 1))
    }
}
