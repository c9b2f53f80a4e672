import XCTest
import NN

/// The real `medpfl` binary, as a user runs it.
final class CLITests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../..").standardized
    static let golden = root.appendingPathComponent("../shared/golden").standardized
    static let data = root.appendingPathComponent("data/medical-sample/32")
    static let torchFixture = root.appendingPathComponent("Tests/AttacksTests/Fixtures/torch-idlg-ct693_r00c01")
    static let oldLog = root.appendingPathComponent("Tests/AuditTests/Fixtures/log-0.1.0")

    var binary: URL {
        let dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for c in [dir, dir.deletingLastPathComponent()] {
            let b = c.appendingPathComponent("medpfl")
            if FileManager.default.isExecutableFile(atPath: b.path) { return b }
        }
        return Bundle(for: CLITests.self).bundleURL.deletingLastPathComponent().appendingPathComponent("medpfl")
    }

    @discardableResult
    func run(_ args: [String], environment: [String: String] = [:], in directory: URL? = nil) throws -> (code: Int32, out: String, err: String) {
        let p = Process()
        p.executableURL = binary
        p.arguments = args
        if let directory { p.currentDirectoryURL = directory }
        if !environment.isEmpty { p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
        let o = Pipe(), e = Pipe()
        p.standardOutput = o; p.standardError = e
        try p.run()
        let od = o.fileHandleForReading.readDataToEndOfFile(), ed = e.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: od, as: UTF8.self), String(decoding: ed, as: UTF8.self))
    }

    var tmp: URL!
    override func setUpWithError() throws {
        tmp = FileManager.default.temporaryDirectory.appendingPathComponent("medpfl-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
    }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: tmp) }

    func relErr(_ a: [Float], _ b: [Float]) -> Double {
        var n = 0.0, d = 0.0
        for i in a.indices { n += Double(a[i] - b[i]) * Double(a[i] - b[i]); d += Double(b[i]) * Double(b[i]) }
        return (n / d).squareRoot()
    }

    /// `medpfl update` with PyTorch's weights equals PyTorch's update (golden README tolerances).
    func testUpdateEqualsPyTorch() throws {
        for (model, tol) in [("lenet", 1e-4), ("mlp", 1e-4), ("cnn7", 2e-3)] {
            let out = tmp.appendingPathComponent("\(model).safetensors").path
            let r = try run(["update", "--model", model, "--weights", Self.golden.appendingPathComponent("\(model)/weights-train.safetensors").path,
                             "--image", Self.data.appendingPathComponent("ultrasound/echo4c_f012.png").path, "--label", "4", "--out", out])
            XCTAssertEqual(r.code, 0, r.err)
            let ours = try Safetensors.read(out), ref = try Safetensors.read(Self.golden.appendingPathComponent("\(model)/case-train-b1-update.safetensors").path)
            XCTAssertEqual(Set(ours.tensors.keys), Set(ref.tensors.keys))
            for (k, t) in ref.tensors { XCTAssertLessThan(relErr(ours.tensors[k]!.floats, t.floats), tol, "\(model) \(k)") }
            var st = stat(); stat(out, &st)
            XCTAssertEqual(st.st_mode & 0o777, 0o600, "updates are written owner-only")
            XCTAssertEqual(ours.metadata["model"], model)
        }
    }

    /// Bad input: exit code 2 and one line naming the problem.
    func testBadInputExitsTwoWithOneLine() throws {
        let img = Self.data.appendingPathComponent("ct/ct693_r00c01.png").path
        let corrupt = tmp.appendingPathComponent("corrupt.png").path
        try Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 1, 2, 3]).write(to: URL(fileURLWithPath: corrupt))
        let text = tmp.appendingPathComponent("notpng.png").path
        try "hello".write(toFile: text, atomically: true, encoding: .utf8)
        let truncated = tmp.appendingPathComponent("trunc.safetensors").path
        let w = try Data(contentsOf: Self.golden.appendingPathComponent("lenet/weights-train.safetensors"))
        try w.prefix(w.count / 2).write(to: URL(fileURLWithPath: truncated))
        let badYAML = tmp.appendingPathComponent("bad.yaml").path
        try "input: [3, 32, 32]\nclasses: 6\nlayers:\n  - conv2d: {in: 3, out: 8, kernel: 3}\n  - flatten\n  - linear: {in: 100, out: 6}\n".write(toFile: badYAML, atomically: true, encoding: .utf8)
        let out = tmp.appendingPathComponent("u.safetensors").path
        let cases: [([String], String)] = [
            (["update", "--model", "lenet", "--image", "/no/such.png", "--label", "1", "--out", out], "/no/such.png"),
            (["update", "--model", "lenet", "--image", corrupt, "--label", "1", "--out", out], "corrupt.png"),
            (["update", "--model", "lenet", "--image", text, "--label", "1", "--out", out], "notpng.png"),
            (["update", "--model", "alexnet", "--image", img, "--label", "1", "--out", out], "alexnet"),
            (["update", "--model", "lenet", "--image", img, "--out", out], "--label"),
            (["update", "--model", "lenet", "--image", img, "--label", "9", "--out", out], "label 9"),
            (["update", "--model", "mlp", "--weights", Self.golden.appendingPathComponent("lenet/weights-train.safetensors").path, "--image", img, "--label", "1", "--out", out], "fc1.weight"),
            (["update", "--model", "lenet", "--weights", truncated, "--image", img, "--label", "1", "--out", out], "trunc.safetensors"),
            (["update", "--model-file", badYAML, "--image", img, "--label", "1", "--out", out], "linear expects 100 input features"),
            (["metrics", "--reference", img, "--candidate", Self.golden.appendingPathComponent("cases.json").path], "cases.json"),
            (["attack", "--attack", "dlg", "--model", "lenet", "--update", "/no/update.safetensors"], "/no/update.safetensors"),
            (["attack", "--attack", "idlg", "--model", "lenet", "--image", img, "--label", "0",
              "--start", Self.golden.appendingPathComponent("lenet/weights-train.safetensors").path], "lacks tensor 'x'"),
            (["attack", "--attack", "dlg", "--model", "lenet", "--image", img, "--label", "0",
              "--start", Self.torchFixture.appendingPathComponent("start.safetensors").path], "needs dummy label logits"),
            (["attack", "--attack", "idlg", "--model", "lenet", "--size", "16", "--image", img, "--label", "0",
              "--start", Self.torchFixture.appendingPathComponent("start.safetensors").path], "shape [1, 3, 32, 32]"),
            // Attack settings are checked against the attack's own parameters (the registry), like an audit file's.
            (["attack", "--attack", "analytic", "--model", "mlp", "--tv", "3", "--image", img, "--label", "0"], "analytic takes no setting 'tv'"),
            (["attack", "--attack", "dlg", "--model", "lenet", "--param", "foo=1", "--image", img, "--label", "0"], "dlg takes no setting 'foo'"),
            (["attack", "--attack", "gradinv", "--model", "lenet", "--param", "lr=-1", "--image", img, "--label", "0"], "lr must be number > 0"),
            (["attack", "--attack", "dlg", "--model", "lenet", "--iterations", "0", "--image", img, "--label", "0"], "iterations must be at least 1"),
            (["attack", "--attack", "gradinversion", "--model", "resnet18-cifar", "--param", "group=100000", "--image", img, "--label", "0"], "group must be at most 64"),
            (["attack", "--attack", "nope", "--model", "lenet"], "'nope' is invalid for '--attack"),
        ]
        for (args, needle) in cases {
            let r = try run(args)
            XCTAssertEqual(r.code, 2, "\(args): \(r.err)")
            let lines = r.err.split(separator: "\n", omittingEmptySubsequences: true)
            XCTAssertEqual(lines.count, 1, "\(args): one line expected, got \(r.err)")
            XCTAssertTrue(r.err.contains(needle), "\(args): message should name \(needle): \(r.err)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: out), "nothing is written on bad input")
    }

    func testVersionAndHelp() throws {
        XCTAssertEqual(try run(["--version"]).code, 0)
        let h = try run(["--help"])
        XCTAssertEqual(h.code, 0)
        for sub in ["update", "attack", "metrics", "bench"] { XCTAssertTrue(h.out.contains(sub), sub) }
    }

    /// The attacker's side from a captured file, JSON on stdout, images written owner-only.
    func testAttackOnCapturedUpdate() throws {
        let img = Self.data.appendingPathComponent("histology/ihc_r00c00.png").path
        let upd = tmp.appendingPathComponent("u.safetensors").path
        XCTAssertEqual(try run(["update", "--model", "lenet", "--image", img, "--label", "2", "--out", upd]).code, 0)
        let outDir = tmp.appendingPathComponent("recon").path
        let r = try run(["attack", "--attack", "idlg", "--model", "lenet", "--update", upd, "--image", img, "--label", "2",
                         "--iterations", "150", "--json", "--quiet", "--out", outDir])
        XCTAssertEqual(r.code, 0, r.err)
        let json = try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as! [String: Any]
        let agg = json["aggregate"] as! [String: Any]
        XCTAssertEqual(agg["labelAccuracy"] as? Double, 1)
        XCTAssertGreaterThanOrEqual(agg["meanSSIM"] as! Double, 0.9)
        var st = stat(); stat(outDir, &st)
        XCTAssertEqual(st.st_mode & 0o777, 0o700)
        stat(outDir + "/000-reconstruction.png", &st)
        XCTAssertEqual(st.st_mode & 0o777, 0o600)
    }

    /// `--start` reproduces PyTorch's run from its own weights, update and dummy start; `--trace` logs each step.
    func testAttackFromAGivenStartWithTrace() throws {
        let f = Self.torchFixture
        let trace = tmp.appendingPathComponent("trace.jsonl").path
        let r = try run(["attack", "--attack", "idlg", "--model", "lenet", "--weights", f.appendingPathComponent("weights.safetensors").path,
                         "--update", f.appendingPathComponent("update.safetensors").path, "--start", f.appendingPathComponent("start.safetensors").path,
                         "--iterations", "2", "--restarts", "1", "--json", "--quiet", "--trace", trace])
        XCTAssertEqual(r.code, 0, r.err)
        let torch = try JSONSerialization.jsonObject(with: Data(contentsOf: f.appendingPathComponent("trajectory.json"))) as! [String: Any]
        let want = torch["step_loss"] as! [Double]
        let lines = try String(contentsOfFile: trace, encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(lines.count, 2)
        let losses = try lines.map { (try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any])["loss"] as! Double }
        XCTAssertEqual(losses[0], want[0], accuracy: 2e-5 * want[0])
        XCTAssertEqual(losses[1], want[1], accuracy: 2e-2 * want[1])
        var st = stat(); stat(trace, &st)
        XCTAssertEqual(st.st_mode & 0o777, 0o600)
    }

    func testMetricsCommandMatchesSkimage() throws {
        let g = Self.golden.appendingPathComponent("metrics")
        let r = try run(["metrics", "--reference", g.appendingPathComponent("pair00-noise0.1-ref.png").path,
                         "--candidate", g.appendingPathComponent("pair00-noise0.1-cand.png").path, "--json"])
        XCTAssertEqual(r.code, 0, r.err)
        let j = try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as! [String: Any]
        // Python's JSON writes an infinite PSNR as the bare token Infinity.
        let text = try String(contentsOf: Self.golden.appendingPathComponent("metrics.json"), encoding: .utf8).replacingOccurrences(of: "Infinity", with: "null")
        let all = try JSONSerialization.jsonObject(with: Data(text.utf8))
        let pairs = (all as? [[String: Any]]) ?? ((all as! [String: Any])["pairs"] as! [[String: Any]])
        let ref = pairs.first { ($0["candidate"] as! String) == "metrics/pair00-noise0.1-cand.png" }!
        XCTAssertEqual(j["ssim"] as! Double, ref["ssim"] as! Double, accuracy: 1e-4)
    }

    /// `show` of a log written by medpfl 0.1.0 prints what 0.1.0 printed, plus one line saying the assessment
    /// was made now (0.1.0 stored none); reading changes no byte; `migrate` is the one command that upgrades it.
    func testShowOfAnOldLogAndMigrate() throws {
        let db = tmp.appendingPathComponent("old.sqlite").path
        try FileManager.default.copyItem(atPath: Self.oldLog.appendingPathComponent("old.sqlite").path, toPath: db)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: db))
        let r = try run(["show", "1", "--db", db])
        XCTAssertEqual(r.code, 0, r.err)
        var want = try String(contentsOf: Self.oldLog.appendingPathComponent("old-show.txt"), encoding: .utf8).components(separatedBy: "\n")
        let at = try XCTUnwrap(want.firstIndex { $0.hasPrefix("Overall risk for") }) + 1
        want.insert("This audit was finished by an older medpfl that stored no assessment: it is assessed now, with the rules recorded in its configuration.", at: at)
        let tool = try XCTUnwrap(want.firstIndex { $0.hasPrefix("Tool:") }) + 1
        want.insert("Digest:     none (finished by medpfl 0.1.0, before audit digests): it cannot be verified", at: tool)
        // Assessed now, so per threat model too (both in scope, as for every audit that does not say).
        let rec = try XCTUnwrap(want.firstIndex { $0 == "RECOMMENDATION" })
        want.insert(contentsOf: ["BY THREAT MODEL",
                                 "- Against an honest-but-curious server, or an eavesdropper on the update (analytic, idlg): HIGH at the declared setting (none). None of the tested settings stops it (none is LOW).",
                                 "- Against a malicious server that modifies the model it sends: not assessed (the audit ran no attack of this threat model; add the imprint attack).",
                                 ""], at: rec)
        // The same text but for the 95% interval each attack's success rate now carries (0.1.0 printed none).
        // ... and but for the drop column, which now says its interval (none here: 0.1.0 measured no accuracy) ...
        want = want.map { $0.hasPrefix("Defence  ") && $0.hasSuffix("Acc. drop (pts)") ? $0 + " [95% CI]" : $0 }
        // ... and but for the guarantee line each setting's verdict now ends with (0.1.0 printed none).
        let all = r.out.components(separatedBy: "\n")
        XCTAssertEqual(all.filter { $0.contains("No formal guarantee: ") }.count, 2, r.out)
        let lines = all.filter { !$0.contains("No formal guarantee: ") }
        XCTAssertTrue(lines.contains { $0.contains("(attack success 0%, 95% CI 0–66%)") }, r.out)
        XCTAssertEqual(lines.map { $0.replacingOccurrences(of: #", 95% CI [0-9]+–[0-9]+%"#, with: "", options: .regularExpression) }, want)
        XCTAssertEqual(try run(["history", "--db", db]).code, 0)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: db)), bytes, "read commands change nothing")
        let dry = try run(["migrate", "--db", db, "--dry-run"])
        XCTAssertTrue(dry.out.contains("lacks: v3-stored-assessments, v4-audit-digests"), dry.out)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: db)), bytes)
        let m = try run(["migrate", "--db", db])
        XCTAssertEqual(m.code, 0, m.err)
        XCTAssertTrue(try run(["migrate", "--db", db, "--dry-run"]).out.contains("schema is current"))
        XCTAssertEqual(try run(["show", "1", "--db", db]).out, r.out, "the old audit reads the same after migrating")
    }
}
