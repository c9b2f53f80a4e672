import XCTest
import Attacks
import NN
import Tensor

/// Real architectures against PyTorch (../shared/golden/graphs, read its README): six models built from
/// torchvision's and MONAI's classes, each imported from its ONNX export (static and dynamic batch), from
/// the ONNX architecture with the PyTorch checkpoint's weights, and (torchvision's) from medpfl's own zoo
/// builders with the state dict. Every case: logits, the update, the DLG and Inverting Gradients losses and
/// their gradients, within the README's per-case float32 tolerance.
final class GraphGoldenTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../../shared/golden/graphs").standardized

    struct GoldenModel {
        let name: String, inputShape: [Int], files: [String: String], parameterNames: [String], stateDictKeys: [String]
        let cases: [[String: Any]]
    }

    static func models() throws -> [GoldenModel] {
        let url = root.appendingPathComponent("cases.json")
        guard let data = FileManager.default.contents(atPath: url.path) else {
            XCTFail("graph goldens not found at \(url.path): CI keeps ../shared beside the clone"); return []
        }
        let j = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        return (j["models"] as! [[String: Any]]).map { m in
            GoldenModel(name: m["name"] as! String, inputShape: m["input_shape"] as! [Int], files: m["files"] as! [String: String],
                        parameterNames: m["parameter_names"] as! [String], stateDictKeys: m["state_dict_keys"] as! [String],
                        cases: m["cases"] as! [[String: Any]])
        }
    }

    /// The README's suggested float32 tolerance per case (30x PyTorch's own float32 error, at least 1e-4).
    static func tolerance(_ caseFile: String) -> Double {
        if caseFile.hasPrefix("mobilenetv2-mini/case-train-b2") { return 1e-1 }
        if caseFile.hasPrefix("mobilenetv2-mini/case-train-b1") || caseFile.hasPrefix("resnet-bottleneck-mini/case-train")
            || caseFile.hasPrefix("monai-densenet-gray/case-train-b1") { return 1e-3 }
        return 1e-4
    }

    func relErr(_ a: [Float], _ b: [Float]) -> Double {
        precondition(a.count == b.count, "\(a.count) values against \(b.count)")
        var num = 0.0, den = 0.0
        for i in a.indices { let d = Double(a[i]) - Double(b[i]); num += d * d; den += Double(b[i]) * Double(b[i]) }
        return (num / max(den, 1e-300)).squareRoot()
    }

    /// Checks every case of `g` on `model` (weights `state`); `label` says which import is under test.
    func check(_ g: GoldenModel, _ model: Model, _ state: ModelState, _ label: String) throws {
        XCTAssertEqual(model.parameterNames, g.parameterNames, "\(label): parameter names and order")
        for c in g.cases {
            let caseFile = c["case"] as! String, bn = BNMode(rawValue: c["bn"] as! String)!, labels = c["labels"] as! [Int]
            let tol = Self.tolerance(caseFile), what = "\(label) \(caseFile)"
            var m = model
            if let n = c["normalize"] as? [String: [Double]] {
                m = try model.normalizingInput(try InputNormalization(mean: n["mean"]!.map(Float.init), std: n["std"]!.map(Float.init)))
            }
            try m.requireFits(batch: labels.count, bn: bn)
            let file = try Safetensors.read(Self.root.appendingPathComponent(caseFile).path).tensors
            let x = file["x"]!.tensor
            let logits = m.forward(x, state: state, bn: bn)
            XCTAssertLessThan(relErr(logits.scalars, file["logits"]!.floats), tol, "\(what): logits")
            let (_, grads) = m.gradients(images: x, labels: labels, state: state, bn: bn)
            let refs = m.parameters.map { file["grad/\($0.name)"]!.floats }
            XCTAssertLessThan(relErr(grads.flatMap(\.scalars), refs.flatMap { $0 }), tol, "\(what): the whole update")
            let norm = refs.flatMap { $0 }.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
            for (k, spec) in m.parameters.enumerated() {
                let refNorm = refs[k].reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
                if refNorm < 1e-9 * norm {
                    // Analytically zero (a bias feeding a train-mode batch norm): PyTorch stores ~1e-17.
                    let ours = grads[k].scalars.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
                    XCTAssertLessThan(ours, 1e-6 * norm, "\(what): \(spec.name) should have no gradient")
                } else {
                    XCTAssertLessThan(relErr(grads[k].scalars, refs[k]), 10 * tol, "\(what): gradient of \(spec.name)")
                }
            }
            let target = m.parameters.map { file["grad/\($0.name)"]!.tensor }
            let dlg = GradientMatching(model: m, state: state, bn: bn, target: target, distance: .squaredL2, labels: .soft)
            let (dl, dgx, dgl) = dlg.evaluate(x: file["dummy_x"]!.tensor, logits: file["dummy_logits"]!.tensor)
            let dlgRef = c["dlg_loss"] as! Double, giRef = c["gradinv_loss"] as! Double
            // densenet-mini's train-b2 dummy input lies within 1e-6 of a ReLU / max-pool kink: in float64 PyTorch a
            // 1e-6 perturbation moves the DLG input gradient by 2.3e-3 relative (1e-7: 4e-7; 1e-5: 4e-5), measured by
            // scripts/experiments/golden_kink_sensitivity.py. Float32 sgemm kernels that round differently (OpenBLAS
            // SkylakeX) land on the other side of it, 2.28e-3 off; the default kernels here are within 1e-4. The input
            // gradients of that case are held to 5e-3 (a wrong rule is off by O(1)); everything else to the README's tolerance.
            let xTol = caseFile == "densenet-mini/case-train-b2.safetensors" ? 5e-3 : tol
            XCTAssertEqual(Double(dl), dlgRef, accuracy: tol * dlgRef, "\(what): DLG loss")
            XCTAssertLessThan(relErr(dgx.scalars, file["dlg_grad/x"]!.floats), xTol, "\(what): DLG gradient wrt x")
            XCTAssertLessThan(relErr(dgl!.scalars, file["dlg_grad/logits"]!.floats), tol, "\(what): DLG gradient wrt logits")
            let gi = GradientMatching(model: m, state: state, bn: bn, target: target, distance: .cosine, tvWeight: 0.1, labels: .known(labels))
            let (gl, ggx, _) = gi.evaluate(x: file["dummy_x"]!.tensor, logits: nil)
            XCTAssertEqual(Double(gl), giRef, accuracy: tol * max(1, giRef), "\(what): GradInv loss")
            XCTAssertLessThan(relErr(ggx.scalars, file["gradinv_grad/x"]!.floats), xTol, "\(what): GradInv gradient wrt x")
        }
    }

    func path(_ g: GoldenModel, _ key: String) -> String { Self.root.appendingPathComponent(g.files[key]!).path }

    func testEveryCaseFromTheOnnxFileAlone() throws {
        for g in try Self.models() {
            let model = try ModelFile.load(path(g, "onnx"))
            XCTAssertEqual(model.inputShape, g.inputShape)
            try check(g, model, model.initialState(seed: 0), "\(g.name) model.onnx")
        }
    }

    func testEveryCaseFromTheDynamicBatchExport() throws {
        for g in try Self.models() {
            let model = try ModelFile.load(path(g, "onnx_dynbatch"))
            try check(g, model, model.initialState(seed: 0), "\(g.name) model-dynbatch.onnx")
        }
    }

    func testEveryCaseFromTheOnnxArchitectureWithTheCheckpointWeights() throws {
        for g in try Self.models() {
            let model = try ModelFile.load(path(g, "onnx"))
            let state = try model.loadState(path(g, "state_dict"))
            // The checkpoint carries num_batches_tracked beside every running mean: the ONNX model keeps their places.
            XCTAssertEqual(Set(model.stateDict(state).map(\.0)), Set(g.stateDictKeys), "\(g.name): state dict keys")
            try check(g, model, state, "\(g.name) model.onnx + state_dict.pt")
        }
    }

    /// medpfl's torchvision builders, at the goldens' constructor arguments, with the state dict.
    func testTorchvisionBuildersMatchTheRealClasses() throws {
        let built: [String: Model] = [
            "densenet-mini": try Torchvision.densenet(growth: 8, blocks: [2, 2], initFeatures: 16, bnSize: 2, name: "densenet-mini", classes: 6, size: 64),
            "mobilenetv2-mini": try Torchvision.mobilenetV2(name: "mobilenetv2-mini", classes: 6, size: 64, widthMult: 0.25,
                                                            setting: [[1, 16, 1, 1], [6, 24, 2, 2], [6, 32, 3, 2], [6, 64, 2, 1], [6, 96, 1, 1]]),
            "efficientnet-mini": try Torchvision.efficientnet([.init(1, 3, 1, 16, 8, 1), .init(4, 3, 2, 8, 16, 2), .init(4, 5, 2, 16, 24, 2)],
                                                              lastChannel: 128, name: "efficientnet-mini", classes: 6, size: 64),
            "resnet-bottleneck-mini": try Torchvision.resnet(.bottleneck, [2, 2], name: "resnet-bottleneck-mini", classes: 6, size: 64,
                                                             stem: 16, widths: [16, 32]),
        ]
        var seen = 0
        for g in try Self.models() {
            guard let model = built[g.name] else { continue }
            // torchvision's keys exactly (parameters in `named_parameters()` order are checked by `check`).
            XCTAssertEqual(Set(model.stateDict(model.initialState(seed: 1)).map(\.0)), Set(g.stateDictKeys), "\(g.name): torchvision's state_dict keys")
            try check(g, model, try model.loadState(path(g, "weights")), "\(g.name) medpfl zoo builder")
            seen += 1
        }
        XCTAssertEqual(seen, 4)
    }

    /// Every saved form of the densenet's weights (safetensors, state dict, training checkpoint, DataParallel,
    /// legacy pickle) gives the same tensors to the ONNX architecture.
    func testEveryCheckpointVariantLoadsTheSameWeights() throws {
        for g in try Self.models() {
            let model = try ModelFile.load(path(g, "onnx"))
            let reference = try model.loadState(path(g, "weights"))
            for key in ["state_dict", "checkpoint", "dataparallel", "legacy"] where g.files[key] != nil {
                let s = try model.loadState(path(g, key))
                for (a, b) in zip(s.parameters + s.buffers, reference.parameters + reference.buffers) {
                    XCTAssertEqual(a.scalars, b.scalars, "\(g.name) \(key)")
                }
            }
            // The ONNX file's own initializers are the same weights.
            let own = model.initialState(seed: 0)
            for (a, b) in zip(own.parameters, reference.parameters) { XCTAssertEqual(a.scalars, b.scalars, "\(g.name) ONNX initializers") }
        }
    }
}
