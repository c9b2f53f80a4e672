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

/// The site's input normalisation inside the model: the update equals PyTorch's with
/// `transforms.Normalize(imagenet)` in the pipeline; reconstructions stay pixel-space images.
extension CLITests {
    func testNormalisedInputUpdateEqualsPyTorchAndAttacksRebuildPixels() throws {
        let img = Self.data.appendingPathComponent("ultrasound/echo4c_f012.png").path
        let out = tmp.appendingPathComponent("n.safetensors").path
        let r = try run(["update", "--model", "lenet", "--weights", Self.golden.appendingPathComponent("lenet/weights-train.safetensors").path,
                         "--normalize", "imagenet", "--image", img, "--label", "4", "--out", out])
        XCTAssertEqual(r.code, 0, r.err)
        let ours = try Safetensors.read(out), ref = try Safetensors.read(Self.checkpoints.appendingPathComponent("lenet-imagenet-update.safetensors").path)
        XCTAssertEqual(Set(ours.tensors.keys), Set(ref.tensors.keys))
        for (k, t) in ref.tensors { XCTAssertLessThan(relErr(ours.tensors[k]!.floats, t.floats), 1e-5, k) }
        // Without the normalisation the update is another one (the fixture would catch a missing Normalize).
        let plain = try Safetensors.read(Self.golden.appendingPathComponent("lenet/case-train-b1-update.safetensors").path)
        XCTAssertGreaterThan(relErr(plain.tensors["fc.0.weight"]!.floats, ref.tensors["fc.0.weight"]!.floats), 0.05)
        // The analytic attack reads the normalised input off the first layer and maps it back to pixels.
        for args in [["--normalize", "imagenet"], ["--mean", "0.5,0.4,0.3", "--std", "0.2,0.25,0.3"]] {
            let a = try run(["attack", "--attack", "analytic", "--model", "mlp", "--image", img, "--label", "4", "--json", "--quiet"] + args)
            XCTAssertEqual(a.code, 0, a.err)
            XCTAssertTrue(a.out.contains("\"ssim\" : 1") || a.out.contains("\"ssim\" : 0.99"), a.out)
        }
        try assertRefused(["attack", "--attack", "analytic", "--model", "mlp", "--mean", "0.5", "--std", "0.2", "--image", img, "--label", "4"],
                          "the normalisation has 1 channels, the model takes 3")
        try assertRefused(["update", "--model", "mlp", "--mean", "0.5,0.5,0.5", "--image", img, "--label", "4", "--out", out], "--mean and --std go together")
        try assertRefused(["update", "--model", "mlp", "--normalize", "cifar", "--image", img, "--label", "4", "--out", out], "--normalize takes imagenet")
        try assertRefused(["update", "--model", "mlp", "--mean", "0.5,0.5,0.5", "--std", "0.2,0,0.2", "--image", img, "--label", "4", "--out", out], "std finite and > 0")
        // In an audit file, and shown by `show`.
        let yaml = tmp.appendingPathComponent("norm.yaml").path
        try (try String(contentsOfFile: try tinyAudit(), encoding: .utf8)).replacingOccurrences(of: "  version: v1", with: "  version: v1\n  normalize: imagenet")
            .write(toFile: yaml, atomically: true, encoding: .utf8)
        let db = tmp.appendingPathComponent("n.sqlite").path
        let au = try run(["audit", yaml, "--db", db, "--no-report", "--quiet"])
        XCTAssertEqual(au.code, 0, au.err)
        XCTAssertTrue(try run(["show", "1", "--db", db]).out.contains("input normalised ImageNet (mean 0.485, 0.456, 0.406; std 0.229, 0.224, 0.225)"))
    }
}

/// `medpfl inspect`: FLOPs counted by hand for lenet, the published figure for ResNet-18 (CIFAR stem),
/// attack applicability from the registry.
extension CLITests {
    func testInspectCountsWhatTheModelIs() throws {
        let r = try run(["inspect", "--model", "lenet", "--json", "--no-timing"])
        XCTAssertEqual(r.code, 0, r.err)
        let j = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any])
        // conv 3->12 k5 s2 to 16x16, 12->12 k5 s2 to 8x8, 12->12 k5 s1 to 8x8 (2 x outputs x 5x5xCin each),
        // three sigmoids (one FLOP a value) and Linear 768->6.
        let convs: Double = 2 * Double(12 * 16 * 16 * 75 + 768 * 300 + 768 * 300)
        let sigmoids: Double = 3072 + 768 + 768
        let hand: Double = convs + sigmoids + 2 * 768 * 6
        XCTAssertEqual((j["forwardGFLOP"] as? Double).map { $0 * 1e9 } ?? 0, hand, accuracy: 0.5)
        let params: Int = 3 * 12 * 25 + 12 + 2 * (12 * 12 * 25 + 12) + 768 * 6 + 6
        XCTAssertEqual(j["parameterCount"] as? Int, params)
        XCTAssertEqual((j["ops"] as? [String: Int])?["conv2d"], 3)
        let attacks = try XCTUnwrap(j["attacks"] as? [[String: Any]])
        XCTAssertEqual(attacks.first { $0["attack"] as? String == "analytic" }?["applies"] as? Bool, false)
        let mlp = try run(["inspect", "--model", "mlp", "--no-timing"])
        XCTAssertTrue(mlp.out.contains("analytic: applies"), mlp.out)
        // ResNet-18 with the CIFAR stem at 32x32: 0.56 G multiply-adds (the usual figure), i.e. 1.11 GFLOP.
        let res = try run(["inspect", "--model", "resnet18-cifar", "--bn", "eval", "--json", "--no-timing"])
        let rj = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(res.out.utf8)) as? [String: Any])
        XCTAssertEqual(try XCTUnwrap(rj["forwardGFLOP"] as? Double), 1.11, accuracy: 0.02)
        // Timed: a measured iteration is reported.
        XCTAssertTrue(try run(["inspect", "--model", "lenet"]).out.contains("ms here"))
    }
}

/// `--tensor FILE[:KEY]`: an exact pixel-space batch in place of --image (other tools and the goldens feed it).
extension CLITests {
    func testTensorInputGivesPyTorchsUpdateAndIsChecked() throws {
        let w = Self.golden.appendingPathComponent("lenet/weights-train.safetensors").path
        let b2 = Self.golden.appendingPathComponent("lenet/case-train-b2.safetensors").path
        let out = tmp.appendingPathComponent("t.safetensors").path
        let r = try run(["update", "--model", "lenet", "--weights", w, "--tensor", b2 + ":x", "--label", "4", "--label", "0", "--out", out])
        XCTAssertEqual(r.code, 0, r.err)
        let ours = try Safetensors.read(out), ref = try Safetensors.read(Self.golden.appendingPathComponent("lenet/case-train-b2-update.safetensors").path)
        for (k, t) in ref.tensors { XCTAssertLessThan(relErr(ours.tensors[k]!.floats, t.floats), 1e-4, k) }
        // Scored attacks take it too (the originals are the tensor's images).
        let a = try run(["attack", "--attack", "idlg", "--model", "lenet", "--weights", w, "--tensor",
                         Self.golden.appendingPathComponent("lenet/case-train-b1.safetensors").path, "--label", "4", "--json", "--quiet", "--iterations", "2"])
        XCTAssertEqual(a.code, 0, a.err)
        XCTAssertTrue(a.out.contains("case-train-b1.safetensors[0]"), a.out)
        // Refusals: values outside [0, 1] (the dummy is a randn draw), one label for two images, a wrong shape, no such key.
        try assertRefused(["update", "--model", "lenet", "--tensor", b2 + ":dummy_x", "--label", "4", "--label", "0", "--out", out], "outside [0, 1]")
        try assertRefused(["update", "--model", "lenet", "--tensor", b2 + ":x", "--label", "4", "--out", out], "holds 2 images but 1 --label")
        try assertRefused(["update", "--model", "lenet", "--size", "64", "--tensor", b2 + ":x", "--label", "4", "--label", "0", "--out", out], "has shape [2, 3, 32, 32]")
        try assertRefused(["update", "--model", "lenet", "--tensor", b2 + ":nope", "--label", "4", "--out", out], "has no tensor 'nope'")
        try assertRefused(["update", "--model", "lenet", "--tensor", b2, "--image", Self.data.appendingPathComponent("ct/ct693_r00c01.png").path,
                           "--label", "4", "--out", out], "not both")
    }
}
