import Foundation
import XCTest
import Evaluation
import Imaging
import Metrics
import NN
import Tensor
@testable import Attacks

/// The "not converged" flag: an attack stopped by its budget while its loss still fell is flagged, one run to
/// the end of its schedule is not; and re-identification ranks real images among each other.
final class ConvergenceTests: XCTestCase {
    func testRuleOnTraces() throws {
        // Best loss before the last 10%: 1.0; at the end: 0.5 (a 50% late drop): not converged.
        var falling: [Double] = []
        for i in 0..<100 {
            let v: Double = i < 90 ? 1.0 + Double(89 - i) : 1.0 - Double(i - 89) * 0.05
            falling.append(v)
        }
        let c = try XCTUnwrap(Convergence(trace: falling))
        XCTAssertEqual(c.lateDrop, 0.5, accuracy: 1e-12)
        XCTAssertFalse(c.converged)
        // Flat at the end, noisy above the floor: the best-so-far does not move, converged.
        var flat: [Double] = []
        for i in 0..<100 {
            let noise: Double = i % 2 == 0 ? 0.3 : 0
            let v: Double = i < 50 ? 10.0 - Double(i) * 0.1 : 5.0 + noise
            flat.append(v)
        }
        XCTAssertEqual(try XCTUnwrap(Convergence(trace: flat)).lateDrop, 0, accuracy: 1e-12)
        XCTAssertNil(Convergence(trace: [3, 2, 1]), "too short to judge")
        XCTAssertNil(AttackResult(kind: .imprint, applicable: true, note: nil, images: Tensor.zeros([1, 3, 2, 2]), labels: [], iterations: 0,
                                  evaluations: 0, finalLoss: 0, seconds: 0).convergence, "an attack that does not optimise is not judged")
    }

    func realImages(_ n: Int) throws -> Tensor {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../data/medical-sample/32").standardized.path
        let classes = ["ct", "fundus", "histology", "mri", "ultrasound", "xray"]
        var data: [Float] = []
        for i in 0..<n {
            let dir = "\(root)/\(classes[i % 6])"
            let files = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix(".png") }.sorted()
            data += try RGBImage(path: "\(dir)/\(files[i / 6])").fitted(size: 32).pixels
        }
        return Tensor(shape: [n, 3, 32, 32], data: data)
    }

    /// iDLG on a real CT image: truncated at 12 L-BFGS steps its loss is still falling (flagged); given 300 steps it
    /// reaches its floor and the late drop is nil. (Inverting Gradients is a poor probe of truncation: its learning-rate
    /// schedule is scaled to the budget, so even 30 iterations end with a decayed step and a flat loss.)
    func testTruncatedAttackIsFlaggedNotConverged() throws {
        let model = try ModelZoo.make("lenet", classes: 6, size: 32)
        let state = model.initialState(seed: 3)
        let x = try realImages(1)
        let g = model.gradients(images: x, labels: [0], state: state, bn: .train).grads
        let p = AttackProblem(model: model, state: state, bn: .train, update: g, batchSize: 1)
        var short = AttackConfig.defaults(for: .idlg); short.iterations = 12; short.restarts = 1
        var long = AttackConfig.defaults(for: .idlg); long.iterations = 300; long.restarts = 1
        let a = try Attack.run(short, on: p, seed: 11)
        let b = try Attack.run(long, on: p, seed: 11)
        let ca = try XCTUnwrap(a.convergence), cb = try XCTUnwrap(b.convergence)
        XCTAssertFalse(ca.converged, "12 steps: late drop \(ca.lateDrop)")
        XCTAssertGreaterThan(ca.lateDrop, 0.1)
        XCTAssertTrue(cb.converged, "300 steps: late drop \(cb.lateDrop)")
        XCTAssertLessThan(b.finalLoss, a.finalLoss * 1e-2, "the longer run did go further")
        XCTAssertEqual(a.lossTrace.count, 13, "one loss per step and the final one")
        XCTAssertEqual(a.lossTrace.last!, a.finalLoss, accuracy: 1e-12 * max(1, abs(a.finalLoss)))
    }

    /// The penultimate features are what LeNet's last linear layer reads: W f + b gives the logits exactly.
    func testFeaturesAreTheLastLinearLayersInput() throws {
        let model = try ModelZoo.make("lenet", classes: 6, size: 32)
        let state = model.initialState(seed: 5)
        let x = try realImages(3)
        let f = try model.features(x, state: state)
        let logits = GradMode.withoutGrad { model.forward(x, state: state, bn: .eval) }
        let w = state.parameters[state.parameters.count - 2], bias = state.parameters.last!
        XCTAssertEqual(f.shape, [3, w.shape[1]])
        for i in 0..<3 { for k in 0..<6 {
            var s = Double(bias.scalars[k])
            for j in 0..<w.shape[1] { s += Double(w.scalars[k * w.shape[1] + j]) * Double(f.scalars[i * w.shape[1] + j]) }
            XCTAssertEqual(s, Double(logits.scalars[i * 6 + k]), accuracy: 1e-4)
        } }
    }

    /// Ranking on real images: a perfect reconstruction ranks its image first by both matchers; another
    /// patient's image in its place ranks the true one below that patient; the prior guess is the pool's mean.
    func testReferencePoolRanksRealImages() throws {
        let model = try ModelZoo.make("lenet", classes: 6, size: 32)
        let state = model.initialState(seed: 5)
        let pool = try realImages(12)
        let ref = try ReferencePool(images: pool, ids: Array(100..<112), model: model, state: state)
        let per = 3 * 32 * 32
        let original = Tensor(shape: [1, 3, 32, 32], data: Array(pool.scalars[(4 * per)..<(5 * per)]))
        let other = Tensor(shape: [1, 3, 32, 32], data: Array(pool.scalars[(7 * per)..<(8 * per)]))
        let perfect = ScoredSample(original: 0, reconstruction: 0, trueLabel: 4, recoveredLabel: 4,
                                   score: ReconstructionScore(mse: 0, psnr: .infinity, ssim: 1, success: true))
        let e1 = try XCTUnwrap(ref.evidence([perfect], originals: original, reconstructions: original, originalIDs: [104])[0].evidence)
        XCTAssertEqual(e1.rankSSIM, 1); XCTAssertEqual(e1.rankFeatures, 1); XCTAssertEqual(e1.pool, 12)
        let e2 = try XCTUnwrap(ref.evidence([perfect], originals: original, reconstructions: other, originalIDs: [104])[0].evidence)
        XCTAssertGreaterThan(e2.rankSSIM, 1, "the other patient's image ranks above the true one")
        XCTAssertGreaterThan(try XCTUnwrap(e2.rankFeatures), 1)
        // An original outside the pool is ranked against all 12 pool images.
        let e3 = try XCTUnwrap(ref.evidence([perfect], originals: original, reconstructions: original, originalIDs: [999])[0].evidence)
        XCTAssertEqual(e3.pool, 13)
        XCTAssertEqual(e3.rankSSIM, 2, "its duplicate in the pool ties with it, and a tie counts against the attacker")
        // The prior guess is the pixel-wise mean of the pool.
        var mean = [Float](repeating: 0, count: per)
        for i in 0..<12 { for j in 0..<per { mean[j] += pool.scalars[i * per + j] / 12 } }
        XCTAssertEqual(e1.priorSSIM, Metrics.ssim(original.scalars, mean, channels: 3, height: 32, width: 32), accuracy: 1e-6)
    }
}
