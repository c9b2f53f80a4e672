import Foundation
import NN
import XCTest

/// PyTorch checkpoints as sites keep them, through the real binary: the update from a `.pt` file equals
/// PyTorch's (golden) update; a training checkpoint is read by key, with DataParallel's prefix stripped.
extension CLITests {
    static let checkpoints = root.appendingPathComponent("Tests/CLITests/Fixtures")

    func testUpdateFromPyTorchCheckpointsEqualsPyTorch() throws {
        let img = Self.data.appendingPathComponent("ultrasound/echo4c_f012.png").path
        let ref = try Safetensors.read(Self.golden.appendingPathComponent("lenet/case-train-b1-update.safetensors").path)
        for (file, key) in [("lenet-strided.pt", nil), ("lenet-training.pth.tar", "ema_weights")] as [(String, String?)] {
            let out = tmp.appendingPathComponent("\(file).safetensors").path
            var args = ["update", "--model", "lenet", "--weights", Self.checkpoints.appendingPathComponent(file).path,
                        "--image", img, "--label", "4", "--out", out]
            if let k = key { args += ["--weights-key", k] }
            let r = try run(args)
            XCTAssertEqual(r.code, 0, r.err)
            let ours = try Safetensors.read(out)
            for (k, t) in ref.tensors { XCTAssertLessThan(relErr(ours.tensors[k]!.floats, t.floats), 1e-4, "\(file) \(k)") }
        }
        // Without the key, the error lists the checkpoint's keys (a training checkpoint holds more than weights).
        try assertRefused(["update", "--model", "lenet", "--weights", Self.checkpoints.appendingPathComponent("lenet-training.pth.tar").path,
                           "--image", img, "--label", "4", "--out", tmp.appendingPathComponent("x").path], "ema_weights")
        // In an audit file: weights_key.
        let yaml = tmp.appendingPathComponent("ckpt.yaml").path
        try (try String(contentsOfFile: try tinyAudit(), encoding: .utf8)).replacingOccurrences(of: "  name: mlp", with:
            "  name: lenet\n  weights: \(Self.checkpoints.appendingPathComponent("lenet-training.pth.tar").path)\n  weights_key: ema_weights")
            .write(toFile: yaml, atomically: true, encoding: .utf8)
        let a = try run(["audit", yaml, "--db", tmp.appendingPathComponent("c.sqlite").path, "--no-report", "--quiet"])
        XCTAssertEqual(a.code, 0, a.err)
    }
}
