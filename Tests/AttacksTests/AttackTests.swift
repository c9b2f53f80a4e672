import XCTest
import Attacks
import Evaluation
import Imaging
import Metrics
import NN
import Tensor

/// End-to-end attack evidence on real images (release build: a few seconds in all).
final class AttackTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/images")
    static let files = [("ihc_r00c00.png", 2), ("echo4c_f000.png", 4), ("rg1chest_r00c00.png", 5), ("retina_r00c03.png", 1)]

    func image(_ name: String) throws -> Tensor { try RGBImage(path: Self.fixtures.appendingPathComponent(name).path).tensor() }

    func problem(_ model: Model, _ state: ModelState, _ x: Tensor, _ labels: [Int]) -> AttackProblem {
        let g = model.gradients(images: x, labels: labels, state: state, bn: .train).grads
        return AttackProblem(model: model, state: state, bn: .train, update: g, batchSize: labels.count)
    }

    /// iDLG's rule reads the label from the last layer's gradient: exact at batch 1, for every class.
    func testLabelRuleIsExactAtBatchOne() throws {
        let model = try ModelZoo.make("lenet", classes: 6)
        let state = model.initialState(seed: 1234)
        for (f, _) in Self.files {
            let x = try image(f)
            for label in 0..<6 {
                XCTAssertEqual(Attack.inferLabels(problem(model, state, x, [label])), [label], "\(f) with label \(label)")
            }
        }
    }

    func testLabelRuleFindsTheClassesOfABatch() throws {
        let model = try ModelZoo.make("lenet", classes: 6)
        let state = model.initialState(seed: 7)
        let x = concat([try image(Self.files[0].0), try image(Self.files[1].0)], axis: 0)
        XCTAssertEqual(Set(Attack.inferLabels(problem(model, state, x, [2, 4]))), [2, 4])
    }

    /// A fully connected first layer gives the input away exactly.
    func testAnalyticRecoveryIsExactOnMLP() throws {
        let model = try ModelZoo.make("mlp", classes: 6)
        let state = model.initialState(seed: 3)
        let x = try image(Self.files[2].0)
        let p = problem(model, state, x, [5])
        let r = try Attack.run(.defaults(for: .analytic), on: p, seed: 1)
        XCTAssertTrue(r.applicable)
        XCTAssertLessThan(mse(r.images, x), 1e-8)
        let conv = try ModelZoo.make("lenet", classes: 6)
        let cs = conv.initialState(seed: 3)
        let na = try Attack.run(.defaults(for: .analytic), on: problem(conv, cs, x, [5]), seed: 1)
        XCTAssertFalse(na.applicable)
        XCTAssertTrue(na.note!.contains("not applicable"))
    }

    /// DLG (soft labels, L-BFGS, torch defaults) rebuilds real medical images from one update.
    func testDLGReconstructsRealImages() throws {
        let model = try ModelZoo.make("lenet", classes: 6)
        let state = model.initialState(seed: 1234)
        var config = AttackConfig.defaults(for: .dlg)
        config.restarts = 3
        config.satisfiedLoss = 1e-3
        for (f, label) in Self.files.prefix(2) {
            let x = try image(f)
            let r = try Attack.run(config, on: problem(model, state, x, [label]), seed: 11)
            let s = Scoring.score(originals: x, labels: [label], result: r, threshold: 0.9)[0]
            XCTAssertGreaterThanOrEqual(s.score.ssim, 0.9, "\(f): SSIM \(s.score.ssim), final loss \(r.finalLoss)")
            XCTAssertEqual(s.recoveredLabel, label)
        }
    }

    /// The default restart rule of the L-BFGS attacks: under noise, two starts that end at the same loss floor
    /// end the search (more starts would find it again); `.always` runs every start.
    func testRestartRuleStopsAtALossFloor() throws {
        let model = try ModelZoo.make("lenet", classes: 6)
        let state = model.initialState(seed: 1234)
        let clean = problem(model, state, try image(Self.files[0].0), [Self.files[0].1])
        var rng = SeededGenerator(seed: 3)
        let noise = clean.update.tensors.map { $0 + Tensor.randn($0.shape, using: &rng) * 0.05 }
        let noisy = AttackProblem(model: model, state: state, bn: .train, update: noise, batchSize: 1)
        var config = AttackConfig.defaults(for: .idlg)
        XCTAssertEqual(config.restartPolicy, .unsatisfied)
        config.iterations = 40
        func starts(_ c: AttackConfig) throws -> Int {
            var n = 0
            _ = try Attack.run(c, on: noisy, seed: 5) { it, _, _ in if it == 1 { n += 1 } }
            return n
        }
        XCTAssertEqual(try starts(config), 2)
        config.restartPolicy = .always
        XCTAssertEqual(try starts(config), 4)
        config.restartPolicy = .onStall
        XCTAssertEqual(try starts(config), 1, "a start that used its budget is not a stall")
    }

    /// The attacker side alone: an update written to disk, read back, attacked without the image.
    func testCapturedUpdateIsAttackedWithoutTheImages() throws {
        let model = try ModelZoo.make("lenet", classes: 6)
        let state = model.initialState(seed: 1234)
        let x = try image(Self.files[1].0)
        let g = model.gradients(images: x, labels: [4], state: state, bn: .train).grads
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("medpfl-update-\(getpid()).safetensors").path
        defer { unlink(path) }
        try Safetensors.write(Array(zip(model.parameterNames, g)), to: path)
        let stored = try Safetensors.read(path).tensors
        let captured = model.parameters.map { stored[$0.name]!.tensor }
        let p = AttackProblem(model: model, state: state, bn: .train, update: captured, batchSize: 1)
        var config = AttackConfig.defaults(for: .idlg)
        config.iterations = 150
        let r = try Attack.run(config, on: p, seed: 5)
        XCTAssertEqual(r.labels, [4])
        XCTAssertGreaterThanOrEqual(ssim(r.images, x), 0.9)
    }

    /// GradInv (cosine + TV, signed Adam in the box) lowers its loss and stays in [0, 1].
    func testGradInvDescendsAndStaysInTheBox() throws {
        let model = try ModelZoo.make("lenet", classes: 6)
        let state = model.initialState(seed: 2)
        let x = try image(Self.files[0].0)
        var config = AttackConfig.defaults(for: .gradinv)
        config.iterations = 40
        let p = problem(model, state, x, [2])
        let m = GradientMatching(model: model, state: state, bn: .train, target: p.update, distance: .cosine, tvWeight: 0.1, labels: .known([2]))
        var rng = SeededGenerator(seed: 9)
        let start = m.evaluate(x: Tensor.randn(x.shape, using: &rng).clamp(min: 0, max: 1), logits: nil).loss
        let r = try Attack.run(config, on: p, seed: 9)
        XCTAssertLessThan(r.finalLoss, Double(start) * 0.8)
        XCTAssertTrue(r.images.scalars.allSatisfy { $0 >= 0 && $0 <= 1 })
        XCTAssertEqual(r.iterations, 40)
    }
}
