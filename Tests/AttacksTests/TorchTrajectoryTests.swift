import XCTest
import Attacks
import Imaging
import Metrics
import NN
import Tensor

/// medpfl's DLG and iDLG against PyTorch's (torch.optim.LBFGS, the anchor code's settings) from exactly the
/// same point: the same LeNet weights, the same intercepted gradient of a real image and the same dummy start
/// (Fixtures/torch-*, written by scripts/experiments/torch_crosscheck.py). Float32 L-BFGS without line search
/// is chaotic over thousands of iterations, so the trajectories are compared where they must agree (the start
/// and the first 20-iteration step, to float32 summation noise) and by where they end (the same low loss, the
/// same image). An attack weaker than PyTorch's (a wrong second-order gradient, a different L-BFGS rule) would
/// drift within the first steps or stop high; iDLG on this CT image is one that PyTorch solves.
final class TorchTrajectoryTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

    struct Trajectory: Decodable {
        let image: String, label: Int, attack: String
        let step_loss: [Double], step_iterations: [Int], final_loss: Double
        let inferred_label: Int?, recovered_label: Int?
    }

    func runBoth(_ name: String, kind: AttackKind, file: StaticString = #filePath, line: UInt = #line) throws {
        let dir = Self.root.appendingPathComponent(name)
        let t = try JSONDecoder().decode(Trajectory.self, from: Data(contentsOf: dir.appendingPathComponent("trajectory.json")))
        let model = try ModelZoo.make("lenet", classes: 6)
        let state = try model.loadState(dir.appendingPathComponent("weights.safetensors").path)
        let upd = try Safetensors.read(dir.appendingPathComponent("update.safetensors").path).tensors
        let update = model.parameters.map { upd[$0.name]!.tensor }
        let start = try Safetensors.read(dir.appendingPathComponent("start.safetensors").path).tensors
        let given = AttackStart(images: start["x"]!.tensor, logits: start["logits"]?.tensor)
        let problem = AttackProblem(model: model, state: state, bn: .train, update: update, batchSize: 1)

        var config = AttackConfig.defaults(for: kind)
        config.restarts = 1
        var steps: [Double] = []
        let r = try Attack.run(config, on: problem, seed: 1, start: given) { _, _, loss in steps.append(loss) }
        let what = "\(kind) on \(t.image)"

        // The start and the first step (20 L-BFGS iterations) agree with PyTorch.
        XCTAssertEqual(steps.count, t.step_loss.count, what, file: file, line: line)
        XCTAssertEqual(steps[0], t.step_loss[0], accuracy: 2e-5 * t.step_loss[0], "\(what): loss at the start", file: file, line: line)
        XCTAssertEqual(steps[1], t.step_loss[1], accuracy: 2e-2 * t.step_loss[1], "\(what): loss after step 1", file: file, line: line)
        // Both end converged: the same order of loss, about as many iterations, the same image.
        XCTAssertLessThan(r.finalLoss, 5 * t.final_loss, "\(what): torch reached \(t.final_loss)", file: file, line: line)
        let torchIterations = Double(t.step_iterations.last!)
        XCTAssertEqual(Double(r.iterations), torchIterations, accuracy: 0.25 * torchIterations, what, file: file, line: line)
        let x = try RGBImage(path: Self.root.appendingPathComponent("images/\(t.image)").path).tensor()
        let s = Scoring.score(originals: x, labels: [t.label], result: r, threshold: 0.9)[0]
        XCTAssertGreaterThanOrEqual(s.score.ssim, 0.93, what, file: file, line: line)
        XCTAssertEqual(s.recoveredLabel, t.inferred_label ?? t.recovered_label, what, file: file, line: line)
    }

    func testIDLGMatchesPyTorchFromTheSameStart() throws {
        try runBoth("torch-idlg-ct693_r00c01", kind: .idlg)
    }

    func testDLGMatchesPyTorchFromTheSameStart() throws {
        try runBoth("torch-dlg-retina_r00c03", kind: .dlg)
    }
}
