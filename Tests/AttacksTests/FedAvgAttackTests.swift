import Foundation
import XCTest
import Federated
import Imaging
import NN
import Tensor
@testable import Attacks

/// Attacks on FedAvg weight differences: the attacker unrolls the client's local steps on the dummy
/// batch inside the graph (Geiping et al. 2020, section 6).
final class FedAvgAttackTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../data/medical-sample/32").standardized.path

    /// Real images from the bundled sample, fitted to `size`.
    func images(_ names: [String], size: Int) throws -> (x: Tensor, labels: [Int]) {
        let classes = ["ct", "fundus", "histology", "mri", "ultrasound", "xray"]
        var data: [Float] = []
        for n in names { data += try RGBImage(path: "\(Self.root)/\(n)").fitted(size: size).pixels }
        return (Tensor(shape: [names.count, 3, size, size], data: data),
                names.map { classes.firstIndex(of: String($0.split(separator: "/")[0]))! })
    }

    func directionalCheck(_ m: GradientMatching, at x: Tensor, seed: UInt64, file: StaticString = #filePath, line: UInt = #line) {
        let (_, g, _) = m.evaluate(x: x, logits: nil)
        var rng = SeededGenerator(seed: seed)
        for _ in 0..<2 {
            let v = Tensor.randn(x.shape, using: &rng)
            let eps: Float = 1e-2
            let plus = m.evaluate(x: (x + v * eps).detached(), logits: nil).loss
            let minus = m.evaluate(x: (x - v * eps).detached(), logits: nil).loss
            let numeric = (Double(plus) - Double(minus)) / (2 * Double(eps))
            let analytic = zip(g.scalars, v.scalars).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
            XCTAssertEqual(analytic, numeric, accuracy: 2e-2 * abs(numeric) + 1e-7, "directional derivative", file: file, line: line)
        }
    }

    /// LeNet (16 x 16), 3 local steps on one real image: the FedAvg matching loss vanishes at the true
    /// image, its input gradient agrees with finite differences, and one step is lr times the FedSGD case.
    func testFedAvgMatchingOnLeNet() throws {
        let model = try ModelZoo.make("lenet", classes: 6, size: 16)
        let state = model.initialState(seed: 1234)
        let (x, y) = try images(["ct/ct693_r00c01.png"], size: 16)
        let kind = UpdateKind.fedAvg(steps: 3, lr: 0.1)
        let target = LocalTraining.update(kind, model: model, state: state, images: x, labels: y, bn: .train).update.tensors
        let m = GradientMatching(model: model, state: state, bn: .train, target: target, distance: .squaredL2,
                                 labels: .known(y), kind: kind)
        let norm = target.reduce(0.0) { $0 + $1.scalars.reduce(0.0) { $0 + Double($1) * Double($1) } } / (0.1 * 0.1)
        let atTruth = m.evaluate(x: x, logits: nil).loss
        XCTAssertLessThan(Double(atTruth), 1e-8 * norm + 1e-12, "loss at the true image (target |u|^2 = \(norm))")
        var rng = SeededGenerator(seed: 3)
        let away = (x + Tensor.randn(x.shape, using: &rng) * 0.2).detached()
        XCTAssertGreaterThan(Double(m.evaluate(x: away, logits: nil).loss), 1e3 * Double(atTruth))
        directionalCheck(m, at: away, seed: 4)

        // One local step is matched exactly like a gradient (both sides in gradient units).
        let g = GradientMatching(model: model, state: state, bn: .train, target: target, distance: .squaredL2, labels: .known(y))
        let one = GradientMatching(model: model, state: state, bn: .train, target: target, distance: .squaredL2,
                                   labels: .known(y), kind: .fedAvg(steps: 1, lr: 0.1))
        for (a, b) in zip(one.dummyUpdate(x: away, logits: nil), g.dummyUpdate(x: away, logits: nil)) {
            XCTAssertEqual(a.scalars, b.scalars)
        }
        let scaled = GradientMatching(model: model, state: state, bn: .train, target: target.map { $0 * 10 }, distance: .squaredL2,
                                      labels: .known(y))
        XCTAssertEqual(one.evaluate(x: away, logits: nil).loss, scaled.evaluate(x: away, logits: nil).loss, accuracy: 1e-5 * scaled.evaluate(x: away, logits: nil).loss)
    }

    /// Secure aggregation of two FedAvg clients: the attacker simulates each client on its half of the
    /// dummy batch; at the true batch the loss against the server's mean vanishes.
    func testFedAvgUnderSecureAggregation() throws {
        let model = try ModelZoo.make("mlp", classes: 6, size: 8, hidden: 8)
        let state = model.initialState(seed: 7)
        let (x, y) = try images(["mri/emri_f0.png", "xray/rg1chest_r00c00.png"], size: 8)
        let kind = UpdateKind.fedAvg(steps: 2, lr: 0.5)
        let round = try InterceptedRound.simulate(kind, model: model, state: state, images: x, labels: y, bn: .train,
                                                  defence: DefenceSpec(parsing: "secagg:clients=2"), seed: 1)
        let problem = AttackProblem(model: model, state: state, bn: .train, update: round.update.tensors, batchSize: 2,
                                    kind: kind, clients: 2)
        let m = GradientMatching(model: model, state: state, bn: .train, target: problem.update, distance: .squaredL2,
                                 labels: .known(y))
        XCTAssertEqual(m.clients, 2)
        XCTAssertEqual(m.kind, kind)
        let norm = round.update.squaredNorm / (0.5 * 0.5)
        XCTAssertLessThan(Double(m.evaluate(x: x, logits: nil).loss), 1e-8 * norm)
        // Treating the aggregate as one client's update is a different (wrong) model of it.
        let single = GradientMatching(model: model, state: state, bn: .train, target: round.update.tensors, distance: .squaredL2,
                                      labels: .known(y), kind: kind)
        XCTAssertGreaterThan(Double(single.evaluate(x: x, logits: nil).loss), 1e-6 * norm)
        directionalCheck(m, at: (x * 0.5 + 0.25).detached(), seed: 5)
    }

    /// End to end through `Attack.run`: iDLG on a FedAvg update runs and lowers its loss; the analytic
    /// attack recovers the image exactly from a FedAvg update of a fully connected first layer.
    func testAttacksRunOnFedAvgUpdates() throws {
        let model = try ModelZoo.make("mlp", classes: 6, size: 8, hidden: 8)
        let state = model.initialState(seed: 2)
        let (x, y) = try images(["histology/ihc_r00c00.png"], size: 8)
        let kind = UpdateKind.fedAvg(steps: 3, lr: 0.1)
        let u = LocalTraining.update(kind, model: model, state: state, images: x, labels: y, bn: .train).update.tensors
        let p = AttackProblem(model: model, state: state, bn: .train, update: u, batchSize: 1, kind: kind)
        XCTAssertEqual(Attack.inferLabels(p), y)

        var config = AttackConfig.defaults(for: .idlg)
        config.iterations = 3
        let r = try Attack.run(config, on: p, seed: 9)
        var rng = SeededGenerator(seed: 9)
        let start = GradientMatching(model: model, state: state, bn: .train, target: p.update, distance: .squaredL2, labels: .known(y))
            .evaluate(x: Tensor.randn(p.imageShape, using: &rng), logits: nil).loss
        XCTAssertTrue(r.finalLoss.isFinite)
        XCTAssertLessThan(r.finalLoss, Double(start))

        let a = try Attack.run(AttackConfig.defaults(for: .analytic), on: p, seed: 1)
        XCTAssertTrue(a.applicable)
        for (o, q) in zip(x.scalars, a.images.scalars) { XCTAssertEqual(o, q, accuracy: 1e-3) }
    }
}
