import XCTest
import Attacks
import Evaluation
import Imaging
import Metrics
import NN
import Tensor

/// medpfl's DLG and iDLG against PyTorch's (torch.optim.LBFGS, the anchor code's settings) from exactly the
/// same point: the same LeNet weights, the same intercepted gradient of a real image and the same dummy start
/// (Fixtures/torch-*, written by scripts/experiments/torch_crosscheck.py).
///
/// What is asserted, and why. A float32 L-BFGS run of thousands of iterations without line search is
/// chaotic: the rounding of one BLAS kernel against another (OpenBLAS picks Haswell, Zen, SkylakeX or
/// Cooperlake kernels by CPU, and they round differently) sends the same binary on the same inputs to a
/// different end point after a few hundred iterations. So the end of one run is not a number to compare:
/// it is one draw from a spread. Fixtures/torch-*/spread.json holds PyTorch's own spread from the same
/// problem (scripts/experiments/torch_spread.py: 1 and 2 threads, and 10 starts moved by one float32 ulp,
/// which stands in for another machine's rounding); scripts/experiments/medpfl_spread.py measures medpfl's
/// over the four kernels and the same ulp moves. This test asserts
/// - the loss at the start and after the first L-BFGS step (20 iterations) equal PyTorch's: these are
///   before the chaos sets in (ulp moves change them by < 1e-5 and < 0.1 %), and a wrong first or second
///   derivative, or another L-BFGS rule, changes them by far more than the tolerances (2e-5, 2 %);
/// - the attack, as the tool runs it (the default restart rule, with PyTorch's start first), ends converged
///   at a loss of the same order as PyTorch's (below 10x the highest final loss of PyTorch's spread; a
///   start stuck in saturated sigmoids ends at 1e-1 or higher);
/// - it rebuilt the same image: SSIM at least `ssimFloor` (the tool's success threshold, 0.9), which every
///   one of PyTorch's runs meets (iDLG 0.931-0.951, DLG 0.998), while a converged run that found another
///   image with nearly the same gradient scores 0.6-0.8 (README, Limitations);
/// - the label is PyTorch's.
/// Why the restart rule and not one start: one start's end is a draw. On the iDLG case medpfl's single
/// start from PyTorch's start and 30 ulp moves of it ended at SSIM 0.914-0.958 with the Haswell/Zen kernels,
/// and with the SkylakeX/Cooperlake kernels at 0.926-0.955 except 2 of 31 starts that stalled in saturated
/// sigmoids (364 and 543 iterations, loss 3.3 and 27, SSIM 0.03): the tool restarts exactly such starts,
/// judged by the matching loss alone. The iteration count spreads by +-10 % (PyTorch 3830-4210 on iDLG) and
/// is not compared.
final class TorchTrajectoryTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")
    static let ssimFloor = 0.9

    struct Trajectory: Decodable {
        let image: String, label: Int, attack: String
        let step_loss: [Double], step_iterations: [Int], final_loss: Double
        let inferred_label: Int?, recovered_label: Int?
    }

    struct Spread: Decodable {
        struct Run: Decodable { let start_loss: Double, step1_loss: Double, final_loss: Double, iterations: Int, ssim: Double, `case`: String }
        let runs: [Run]
    }

    func runBoth(_ name: String, kind: AttackKind, file: StaticString = #filePath, line: UInt = #line) throws {
        let dir = Self.root.appendingPathComponent(name)
        let t = try JSONDecoder().decode(Trajectory.self, from: Data(contentsOf: dir.appendingPathComponent("trajectory.json")))
        let spread = try JSONDecoder().decode(Spread.self, from: Data(contentsOf: dir.appendingPathComponent("spread.json"))).runs
        XCTAssertGreaterThanOrEqual(spread.count, 12, "PyTorch's spread: one run is not a distribution", file: file, line: line)
        // The floor is one PyTorch's own runs meet: if a regenerated spread fell below it, the test would be wrong.
        XCTAssertGreaterThanOrEqual(spread.map(\.ssim).min()!, Self.ssimFloor, "PyTorch's own runs", file: file, line: line)

        let model = try ModelZoo.make("lenet", classes: 6)
        let state = try model.loadState(dir.appendingPathComponent("weights.safetensors").path)
        let upd = try Safetensors.read(dir.appendingPathComponent("update.safetensors").path).tensors
        let update = model.parameters.map { upd[$0.name]!.tensor }
        let start = try Safetensors.read(dir.appendingPathComponent("start.safetensors").path).tensors
        let given = AttackStart(images: start["x"]!.tensor, logits: start["logits"]?.tensor)
        let problem = AttackProblem(model: model, state: state, bn: .train, update: update, batchSize: 1)

        // The tool's own settings: up to 4 starts while none is satisfied, the first from PyTorch's start.
        let config = AttackConfig.defaults(for: kind)
        var starts: [[Double]] = []
        let r = try Attack.run(config, on: problem, seed: 1, start: given) { it, _, loss in
            if it == 1 { starts.append([]) }
            starts[starts.count - 1].append(loss)
        }
        let steps = starts[0]
        let what = "\(kind) on \(t.image) (OpenBLAS kernel \(Engine.blasCore))"

        // Before the chaos: the start and the first step (20 L-BFGS iterations) agree with PyTorch.
        XCTAssertGreaterThanOrEqual(steps.count, 2, what, file: file, line: line)
        XCTAssertEqual(steps[0], t.step_loss[0], accuracy: 2e-5 * t.step_loss[0], "\(what): loss at the start", file: file, line: line)
        XCTAssertEqual(steps[1], t.step_loss[1], accuracy: 2e-2 * t.step_loss[1], "\(what): loss after step 1", file: file, line: line)
        // The end: converged to the order of PyTorch's loss, the same image and label.
        let torchWorst = spread.map(\.final_loss).max()!
        XCTAssertLessThan(r.finalLoss, 10 * torchWorst, "\(what): PyTorch's runs end at \(spread.map(\.final_loss).min()!)-\(torchWorst)",
                          file: file, line: line)
        let x = try RGBImage(path: Self.root.appendingPathComponent("images/\(t.image)").path).tensor()
        let s = Scoring.score(originals: x, labels: [t.label], result: r, threshold: 0.9)[0]
        XCTAssertGreaterThanOrEqual(s.score.ssim, Self.ssimFloor, "\(what): final loss \(r.finalLoss)", file: file, line: line)
        XCTAssertEqual(s.recoveredLabel, t.inferred_label ?? t.recovered_label, what, file: file, line: line)
    }

    func testIDLGMatchesPyTorchFromTheSameStart() throws {
        try runBoth("torch-idlg-ct693_r00c01", kind: .idlg)
    }

    func testDLGMatchesPyTorchFromTheSameStart() throws {
        try runBoth("torch-dlg-retina_r00c03", kind: .dlg)
    }
}
