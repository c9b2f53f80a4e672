import XCTest
import Attacks
import NN
import Tensor

/// Against PyTorch (float64 oracle, ../shared/golden; see its README): parameter gradients (the update a
/// client sends), and the DLG and Inverting-Gradients matching losses and their gradients with respect
/// to the dummy input and dummy logits, for every model there.
final class GoldenTests: XCTestCase {
    static let golden = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../../shared/golden").standardized

    struct Case {
        let model: String, bn: BNMode, batch: Int, weights: String, caseFile: String, update: String?
        let labels: [Int], fullUpdate: Bool, dlgLoss: Double, gradinvLoss: Double, layers: String?
    }

    func cases(_ index: String) throws -> [Case] {
        let url = Self.golden.appendingPathComponent(index)
        guard let data = FileManager.default.contents(atPath: url.path) else {
            XCTFail("golden files not found at \(url.path): CI keeps ../shared beside the clone"); return []
        }
        let root = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        return (root["cases"] as! [[String: Any]]).map { c in
            Case(model: c["model"] as! String, bn: BNMode(rawValue: c["bn"] as! String)!, batch: c["batch"] as! Int,
                 weights: c["weights"] as! String, caseFile: c["case"] as! String, update: c["update"] as? String,
                 labels: c["labels"] as! [Int], fullUpdate: (c["full_update"] as? Bool) ?? false,
                 dlgLoss: c["dlg_loss"] as! Double, gradinvLoss: c["gradinv_loss"] as! Double, layers: c["layers"] as? String)
        }
    }

    /// Relative L2 error |a - b| / |b|; `floor` bounds the denominator from below for tensors whose true
    /// value is analytically zero (a conv bias followed by train-mode batch-norm), where PyTorch's own
    /// float rounding (~1e-16) is all there is to compare.
    func relErr(_ a: [Float], _ b: [Float], floor: Double = 0) -> Double {
        precondition(a.count == b.count)
        var num = 0.0, den = 0.0
        for i in a.indices { let d = Double(a[i]) - Double(b[i]); num += d * d; den += Double(b[i]) * Double(b[i]) }
        let e = (num / max(den, floor * floor, 1e-300)).squareRoot()
        if ProcessInfo.processInfo.environment["MEDPFL_GOLDEN_VERBOSE"] != nil { print("relErr", e) }
        return e
    }

    func run(_ c: Case, model: Model) throws {
        let tol = c.model == "cnn7" ? 2e-3 : 1e-4
        let state = try model.loadState(Self.golden.appendingPathComponent(c.weights).path)
        let file = try Safetensors.read(Self.golden.appendingPathComponent(c.caseFile).path).tensors
        let x = file["x"]!.tensor
        XCTAssertEqual(file["y"]!.floats.map { Int($0) }, c.labels)
        let (_, grads) = model.gradients(images: x, labels: c.labels, state: state, bn: c.bn)
        let what = "\(c.model) bn=\(c.bn) batch=\(c.batch)"
        // 1. The update.
        let updateNorm = grads.reduce(0.0) { $0 + $1.scalars.reduce(0.0) { $0 + Double($1) * Double($1) } }.squareRoot()
        for (k, spec) in model.parameters.enumerated() {
            let ours = grads[k].scalars
            if c.fullUpdate {
                let ref = file["grad/\(spec.name)"]!.floats
                XCTAssertLessThan(relErr(ours, ref, floor: 1e-3 * updateNorm), tol, "\(what): gradient of \(spec.name)")
            } else {
                let norm = ours.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
                let refNorm = Double(file["grad_norm/\(spec.name)"]!.floats[0])
                XCTAssertEqual(norm, refNorm, accuracy: 1e-4 * refNorm + 1e-12, "\(what): gradient norm of \(spec.name)")
                let head = file["grad_head/\(spec.name)"]!.floats
                XCTAssertLessThan(relErr(Array(ours.prefix(head.count)), head), 1e-3, "\(what): first values of the gradient of \(spec.name)")
            }
        }
        if let u = c.update {
            let upd = try Safetensors.read(Self.golden.appendingPathComponent(u).path).tensors
            XCTAssertEqual(Set(upd.keys), Set(model.parameterNames), "\(what): update file keys")
        }
        // The true update the attacker intercepts: PyTorch's where stored in full, ours otherwise.
        let target: [Tensor] = c.fullUpdate ? model.parameters.map { file["grad/\($0.name)"]!.tensor } : grads
        // 2. DLG: soft labels, squared L2.
        let dlg = GradientMatching(model: model, state: state, bn: c.bn, target: target, distance: .squaredL2, labels: .soft)
        // ResNet-18 in BN train mode at batch 1 is ill-conditioned at the dummy input: layer-4 batch-norm
        // sees 16 values per channel, and moving the dummy image by 1e-5 (randn) changes our GradInv input
        // gradient by 2% (ReLU kinks, near-constant channels whose float32 centring loses ~4 digits). There
        // float32 cannot reach the float64 oracle's 1e-4; we measured 1.5e-2 on the input gradient and
        // 1.3e-4 on the loss, and hold the case to 3e-2 / 5e-4 (a wrong rule is off by O(1)). Every other
        // case, including train mode at batch 2, is held to the README's 1e-4 (2e-3 for cnn7).
        let illConditioned = c.model.hasPrefix("resnet18") && c.bn == .train && c.batch == 1
        let xTol = illConditioned ? 3e-2 : tol
        let (dl, dgx, dgl) = dlg.evaluate(x: file["dummy_x"]!.tensor, logits: file["dummy_logits"]!.tensor)
        XCTAssertEqual(Double(dl), c.dlgLoss, accuracy: tol * c.dlgLoss, "\(what): DLG loss")
        XCTAssertLessThan(relErr(dgx.scalars, file["dlg_grad/x"]!.floats), xTol, "\(what): DLG gradient wrt x")
        XCTAssertLessThan(relErr(dgl!.scalars, file["dlg_grad/logits"]!.floats), illConditioned ? 1e-3 : tol, "\(what): DLG gradient wrt logits")
        // 3. Inverting Gradients: known labels, global cosine + 0.1 TV.
        let gi = GradientMatching(model: model, state: state, bn: c.bn, target: target, distance: .cosine, tvWeight: 0.1, labels: .known(c.labels))
        let (gl, ggx, _) = gi.evaluate(x: file["dummy_x"]!.tensor, logits: nil)
        XCTAssertEqual(Double(gl), c.gradinvLoss, accuracy: (illConditioned ? 5e-4 : 1e-4) * max(1, c.gradinvLoss), "\(what): GradInv loss")
        XCTAssertLessThan(relErr(ggx.scalars, file["gradinv_grad/x"]!.floats), illConditioned ? 3e-2 : tol, "\(what): GradInv gradient wrt x")
    }

    func testZooModelsMatchPyTorch() throws {
        var seen = Set<String>()
        for c in try cases("cases.json") {
            let size = c.model == "resnet18" ? 64 : 32
            let model = try ModelZoo.make(c.model, classes: 6, size: size)
            try run(c, model: model)
            seen.insert(c.model)
        }
        XCTAssertEqual(seen, ["lenet", "lenet4", "cnn7", "mlp", "resnet18", "resnet18-cifar"])
    }

    func testSequentialModelFileMatchesPyTorch() throws {
        let model = try ModelFile.load(URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../audits/models/site-cnn.yaml").standardized.path)
        XCTAssertEqual(model.parameterNames.first, "0.weight")
        for c in try cases("sequential/cases.json") { try run(c, model: model) }
    }
}
