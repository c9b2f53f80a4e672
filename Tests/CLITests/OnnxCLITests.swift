import Foundation
import NN
import XCTest

/// A site's ONNX export through the real binary: `update` writes the site's parameter names and PyTorch's
/// update (static and dynamic-batch exports, BN train and the normalised eval case), `inspect` describes it,
/// and every bad model file is one line and exit 2.
extension CLITests {
    static var graphs: URL { golden.appendingPathComponent("graphs") }

    func testUpdateFromOnnxEqualsPyTorch() throws {
        let cases: [(model: String, file: String, caseName: String, labels: [Int], extra: [String])] = [
            ("densenet-mini", "model.onnx", "case-train-b2", [1, 3], ["--bn", "train"]),
            ("vit-mini", "model.onnx", "case-train-b2", [5, 3], ["--bn", "train"]),
            ("mobilenetv2-mini", "model-dynbatch.onnx", "case-train-b1", [2], ["--bn", "train"]),
            ("resnet-bottleneck-mini", "model-dynbatch.onnx", "case-eval-b1-norm", [5], ["--bn", "eval", "--normalize", "imagenet"]),
            ("monai-densenet-gray", "model.onnx", "case-eval-b1-norm", [2], ["--bn", "eval", "--mean", "0.5", "--std", "0.25"]),
        ]
        for c in cases {
            let casePath = Self.graphs.appendingPathComponent("\(c.model)/\(c.caseName).safetensors").path
            let out = tmp.appendingPathComponent("\(c.model)-\(c.caseName).safetensors").path
            let r = try run(["update", "--model", Self.graphs.appendingPathComponent("\(c.model)/\(c.file)").path, "--tensor", casePath + ":x", "--out", out]
                            + c.labels.flatMap { ["--label", String($0)] } + c.extra)
            XCTAssertEqual(r.code, 0, r.err)
            let ours = try Safetensors.read(out).tensors, ref = try Safetensors.read(casePath).tensors
            let names = ref.keys.filter { $0.hasPrefix("grad/") }.map { String($0.dropFirst(5)) }
            XCTAssertEqual(Set(ours.keys), Set(names), "\(c.model): the site's parameter names")
            let all = names.sorted()
            XCTAssertLessThan(relErr(all.flatMap { ours[$0]!.floats }, all.flatMap { ref["grad/\($0)"]!.floats }), 1e-4, "\(c.model) \(c.caseName)")
        }
    }

    func testInspectDescribesOnnxAndZooModels() throws {
        let r = try run(["inspect", "--model", Self.graphs.appendingPathComponent("vit-mini/model-dynbatch.onnx").path, "--json", "--no-timing"])
        XCTAssertEqual(r.code, 0, r.err)
        let j = try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as! [String: Any]
        XCTAssertEqual(j["parameterCount"] as? Int, 24102)
        XCTAssertTrue((j["format"] as? String ?? "").contains("dynamic batch"))
        XCTAssertEqual((j["ops"] as? [String: Int])?["layerNorm"], 5)
        XCTAssertTrue(((j["parameters"] as? [[String: Any]]) ?? []).contains { $0["name"] as? String == "encoder.layers.encoder_layer_0.self_attention.in_proj_weight" })
        // torchvision's densenet121, with no model file: its exact keys and shapes.
        let d = try run(["inspect", "--model", "densenet121", "--size", "224", "--json", "--no-timing"])
        XCTAssertEqual(d.code, 0, d.err)
        let dj = try JSONSerialization.jsonObject(with: Data(d.out.utf8)) as! [String: Any]
        let ours = ((dj["parameters"] as! [[String: Any]]) + (dj["buffers"] as! [[String: Any]])).map { "\($0["name"]!)=\($0["shape"]!)" }
        let fixture = try JSONSerialization.jsonObject(with: Data(contentsOf: Self.root.appendingPathComponent("Tests/NNTests/Fixtures/torchvision-state-dicts.json"))) as! [String: Any]
        let ref = (((fixture["models"] as! [String: Any])["densenet121"] as! [String: Any])["state_dict"] as! [[Any]]).map { "\($0[0])=\($0[1])" }
        XCTAssertEqual(Set(ours), Set(ref))
    }

    func testBadOnnxFilesAreOneLineRefusals() throws {
        let fx = Self.checkpoints
        let img = Self.data.appendingPathComponent("ultrasound/echo4c_f012.png").path
        func refused(_ file: String, _ fragment: String) throws {
            try assertRefused(["inspect", "--model", file, "--no-timing"], fragment)
            try assertRefused(["update", "--model", file, "--image", img, "--label", "1", "--out", tmp.appendingPathComponent("u").path], fragment)
        }
        try refused(fx.appendingPathComponent("onnx-unsupported-op.onnx").path, "node /head/Einsum has op type Einsum, which medpfl does not support (supported: Add,")
        try refused(fx.appendingPathComponent("onnx-old-opset.onnx").path, "uses ONNX opset 9")
        try refused(fx.appendingPathComponent("onnx-external-data.onnx").path, "its values are in an external file")
        let valid = try Data(contentsOf: Self.graphs.appendingPathComponent("densenet-mini/model.onnx"))
        let truncated = tmp.appendingPathComponent("truncated.onnx").path
        try valid.prefix(valid.count / 2).write(to: URL(fileURLWithPath: truncated))
        try refused(truncated, "truncated")
        let garbage = tmp.appendingPathComponent("garbage.onnx").path
        try Data("not a model\n".utf8).write(to: URL(fileURLWithPath: garbage))
        try refused(garbage, "is not a valid ONNX file")
        try refused(tmp.appendingPathComponent("missing.onnx").path, "does not exist")
        // Weights that do not fit the ONNX architecture name every problem.
        try assertRefused(["update", "--model", Self.graphs.appendingPathComponent("densenet-mini/model.onnx").path, "--weights",
                           Self.graphs.appendingPathComponent("vit-mini/state_dict.pt").path, "--image", img, "--label", "1",
                           "--out", tmp.appendingPathComponent("u").path], "missing 'features.conv0.weight'")
        // The model file fixes its input: --input must agree.
        try assertRefused(["inspect", "--model", Self.graphs.appendingPathComponent("densenet-mini/model.onnx").path, "--input", "3x32x32", "--no-timing"],
                          "differs from the model file's input 3x64x64")
    }
}

/// An audit of the bundled ONNX example model: the report names the site's tensors, and the folded export
/// (torch's default constant folding) is refused in an audit file as on the command line.
extension CLITests {
    func testAuditOfAnOnnxModelNamesTheSitesTensors() throws {
        let onnx = Self.root.appendingPathComponent("audits/models/densenet-site.onnx").path
        let out = tmp.appendingPathComponent("onnx-report").path
        let yaml = try String(contentsOfFile: try tinyAudit(extra: "output:\n  report_dir: \(out)"), encoding: .utf8)
            .replacingOccurrences(of: "  name: mlp", with: "  file: \(onnx)\n  normalize: imagenet\n  bn: eval")
        let f = tmp.appendingPathComponent("onnx-audit.yaml").path
        try yaml.write(toFile: f, atomically: true, encoding: .utf8)
        let r = try run(["audit", f, "--db", tmp.appendingPathComponent("o.sqlite").path, "--quiet"])
        XCTAssertEqual(r.code, 0, r.err)
        let md = try String(contentsOfFile: out + "/report.md", encoding: .utf8)
        XCTAssertTrue(md.contains("ONNX opset 17, dynamic batch"), md)
        XCTAssertTrue(md.contains("features.conv0.weight (16x3x7x7)"), md)
        // The noisy setting's per-tensor SNR names the site's tensors.
        XCTAssertTrue(md.range(of: #"least protected tensors: (features|classifier)\.[a-z0-9.]+ \(-?[0-9.]+ dB\)"#, options: .regularExpression) != nil, md)
        let folded = try yaml.replacingOccurrences(of: onnx, with: Self.checkpoints.appendingPathComponent("onnx-folded-bn.onnx").path)
        try folded.write(toFile: f, atomically: true, encoding: .utf8)
        try assertRefused(["audit", f, "--db", tmp.appendingPathComponent("o2.sqlite").path, "--quiet"], "export with do_constant_folding=False")
    }
}

/// A 1-channel model in an audit: MONAI's gray DenseNet (ONNX) on the images' luma, resized by PIL's
/// antialiased bilinear filter, with `model.input` and `model.resize`.
extension CLITests {
    func testAuditOfAGrayOnnxModel() throws {
        let onnx = Self.graphs.appendingPathComponent("monai-densenet-gray/model-dynbatch.onnx").path
        let out = tmp.appendingPathComponent("gray-report").path
        let yaml = try String(contentsOfFile: try tinyAudit(extra: "output:\n  report_dir: \(out)"), encoding: .utf8)
            .replacingOccurrences(of: "  name: mlp", with: "  file: \(onnx)\n  input: {channels: 1, height: 64, width: 64}\n  resize: bilinear\n  normalize: {mean: [0.5], std: [0.25]}\n  bn: eval")
        let f = tmp.appendingPathComponent("gray-audit.yaml").path
        try yaml.write(toFile: f, atomically: true, encoding: .utf8)
        let r = try run(["audit", f, "--db", tmp.appendingPathComponent("g.sqlite").path, "--quiet"])
        XCTAssertEqual(r.code, 0, r.err)
        XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/report.html"))
        // The model file fixes its input: a 3-channel input is refused, naming the key.
        try yaml.replacingOccurrences(of: "channels: 1", with: "channels: 3").write(toFile: f, atomically: true, encoding: .utf8)
        try assertRefused(["audit", f, "--db", tmp.appendingPathComponent("g2.sqlite").path, "--quiet"], "takes 1-channel input, not 3")
    }
}
