import Federated
import XCTest
@testable import Audit

/// The audit file: every key read with its type and range, errors naming the key path and line.
final class DefinitionTests: XCTestCase {
    func testValidFileResolvesDefaultsAndSweeps() throws {
        let f = try AuditFixture()
        let path = try f.write("a.yaml", AuditFixture.yaml(
            attacks: "  - idlg\n  - cpl: {iterations: 7, init: uniform, label: cpl-uniform, restart_policy: always, satisfied_loss: 1e-6}\n  - analytic\n",
            defences: "  - none\n  - laplace: {levels: [100, 200]}\n  - {gaussian: {relative: [0.1, 0.5]}}\n  - dp: {clip: 4, sigmas: [0.5, 1]}\n",
            extra: "declared_defence: prune:p=90\n"))
        let d = try AuditDefinitionParser.load(path).definition
        XCTAssertEqual(d.site, "Test Site")
        XCTAssertEqual(d.model.classes, 6, "classes default to the folder's class count")
        XCTAssertEqual(d.model.inputSize, 32)
        XCTAssertEqual(d.fl.algorithm, .fedsgd)
        XCTAssertEqual(d.fl.batchSize, 1)
        XCTAssertEqual(d.data.selectionSeed, 5, "the selection seed defaults to the audit seed")
        XCTAssertEqual(d.attacks.map(\.label), ["idlg", "cpl-uniform", "analytic"])
        XCTAssertEqual(d.attacks[1].config.iterations, 7)
        XCTAssertEqual(d.attacks[1].config.initialization, .uniform)
        XCTAssertEqual(d.attacks[1].config.restartPolicy, .always)
        XCTAssertEqual(d.attacks[1].config.satisfiedLoss, 1e-6)
        XCTAssertEqual(d.attacks[0].config.restartPolicy, .unsatisfied, "L-BFGS attacks restart until a start is satisfied by default")
        XCTAssertEqual(d.attacks[0].config.iterations, 300, "attack defaults are the original papers'")
        XCTAssertEqual(d.defences.map(\.description),
                       ["none", "laplace:level=100", "laplace:level=200", "gaussian:relative=0.1", "gaussian:relative=0.5",
                        "dp:clip=4,sigma=0.5", "dp:clip=4,sigma=1", "prune:p=90"],
                       "sweeps expand in order and the declared defence is added to the grid")
        XCTAssertEqual(d.declaredDefence.description, "prune:p=90")
        XCTAssertEqual(d.thresholds, RiskThresholds())
        XCTAssertNil(d.fl.rounds, "the deployment's training is not declared unless the file says")
        let declared = try AuditDefinitionParser.load(try f.write("b.yaml", AuditFixture.yaml(extra: "fl:\n  rounds: 100\n  sample_rate: 0.01\n"))).definition
        XCTAssertEqual(declared.fl.rounds, 100)
        XCTAssertEqual(declared.fl.sampleRate, 0.01)
    }

    func testUnknownKeyNamesKeyAndLine() throws {
        let f = try AuditFixture()
        let text = AuditFixture.yaml(attacks: "  - cpl: {iteratons: 3}\n")
        let path = try f.write("a.yaml", text)
        let line = text.split(separator: "\n", omittingEmptySubsequences: false).firstIndex { $0.contains("iteratons") }! + 1
        assertDefinitionError(try AuditDefinitionParser.load(path), ["attacks[0].cpl.iteratons", "unknown key", "did you mean 'iterations'"], line: line)
        let top = AuditFixture.yaml() + "\nsamples: 3\n"
        let topLine = top.split(separator: "\n", omittingEmptySubsequences: false).firstIndex { $0.hasPrefix("samples") }! + 1
        assertDefinitionError(try AuditDefinitionParser.load(try f.write("b.yaml", top)), ["samples: unknown key"], line: topLine)
    }

    /// `threat_models:` puts threat models in scope (default both, recorded as absent); an attack outside the
    /// scope, an unknown name or a repeated one is refused with its line.
    func testThreatModelsInScope() throws {
        let f = try AuditFixture()
        let plain = try AuditDefinitionParser.load(try f.write("a.yaml", AuditFixture.yaml())).definition
        XCTAssertNil(plain.threatModels, "absent: nothing recorded, so older audits keep their configuration")
        XCTAssertEqual(plain.threatModelsInScope, [.honestButCurious, .maliciousServer])
        let one = try AuditDefinitionParser.load(try f.write("b.yaml", AuditFixture.yaml(extra: "threat_models: [eavesdropper]\n"))).definition
        XCTAssertEqual(one.threatModelsInScope, [.honestButCurious])
        let synonym = try AuditDefinitionParser.load(try f.write("c.yaml", AuditFixture.yaml(
            attacks: "  - idlg: {iterations: 2, max_iter: 2}\n  - imprint\n", extra: "threat_models: [malicious-server, honest-but-curious]\n"))).definition
        XCTAssertEqual(synonym.threatModelsInScope, [.honestButCurious, .maliciousServer], "in ThreatModel order")
        let outside = AuditFixture.yaml(attacks: "  - idlg: {iterations: 2, max_iter: 2}\n  - imprint\n", extra: "threat_models: [eavesdropper]\n")
        let line = outside.split(separator: "\n", omittingEmptySubsequences: false).firstIndex { $0.contains("- imprint") }! + 1
        assertDefinitionError(try AuditDefinitionParser.load(try f.write("d.yaml", outside)),
                              ["attacks[1]", "attack imprint assumes a malicious-server threat model", "add malicious-server to threat_models"], line: line)
        assertDefinitionError(try AuditDefinitionParser.load(try f.write("e.yaml", AuditFixture.yaml(extra: "threat_models: [insider]\n"))),
                              ["threat_models[0]", "'insider' is not one of eavesdropper, malicious-server"])
        assertDefinitionError(try AuditDefinitionParser.load(try f.write("f.yaml", AuditFixture.yaml(extra: "threat_models: [eavesdropper, eavesdropper]\n"))),
                              ["threat_models[1]", "listed twice"])
        assertDefinitionError(try AuditDefinitionParser.load(try f.write("g.yaml", AuditFixture.yaml(extra: "threat_models: []\n"))),
                              ["threat_models", "at least one threat model"])
    }

    func testWrongTypesAndRanges() throws {
        let f = try AuditFixture()
        let cases: [(String, String, [String])] = [
            ("samples: 1", "samples: many", ["data.samples", "expected a whole number, got 'many'"]),
            ("version: v1", "version: v1\n  bn: sometimes", ["model.bn", "'sometimes' is not one of train, eval"]),
            ("seed: 5", "seed: [1, 2]", ["seed", "expected a non-negative whole number, got a list"]),
            ("  - laplace:level=100\n", "  - prune:p=120\n", ["defences[1]", "out of range: 'p=120'"]),
            ("  - laplace:level=100\n", "  - {laplace: {levels: []}}\n", ["defences[1].laplace.levels", "empty"]),
            ("name: mlp", "name: alexnet", ["model.name", "'alexnet' is not one of"]),
            ("  - idlg: {iterations: 2, max_iter: 2}\n", "  - idlg: {restart_policy: sometimes}\n",
             ["attacks[0].idlg.restart_policy", "'sometimes' is not one of always, unsatisfied, on-stall"]),
        ]
        for (from, to, fragments) in cases {
            let text = AuditFixture.yaml().replacingOccurrences(of: from, with: to)
            XCTAssertNotEqual(text, AuditFixture.yaml(), "fixture text changed: \(from)")
            assertDefinitionError(try AuditDefinitionParser.load(try f.write("t.yaml", text)), fragments)
        }
        let extra: [(String, [String])] = [
            ("fl:\n  batch_size: 0\n", ["fl.batch_size", "at least 1"]),
            ("fl:\n  algorithm: fedavg\n  batch_size: 1\n", ["fl", "fedavg needs local_steps"]),
            ("fl:\n  local_steps: 3\n", ["fl.local_steps", "fedavg only"]),
            ("thresholds:\n  high_ssim: 0.4\n  medium_ssim: 0.6\n", ["thresholds", "must not exceed high_ssim"]),
            ("utility:\n  rounds: 3\n", ["utility", "missing required key 'max_accuracy_drop'"]),
            ("fl:\n  rounds: 0\n", ["fl.rounds", "at least 1"]),
            ("fl:\n  sample_rate: 1.5\n", ["fl.sample_rate", "must be in (0, 1]"]),
            ("utility:\n  max_accuracy_drop: 0.05\n  seeds: 0\n", ["utility.seeds", "at least 1"]),
        ]
        for (block, fragments) in extra {
            let path = try f.write("t.yaml", AuditFixture.yaml(extra: block))
            assertDefinitionError(try AuditDefinitionParser.load(path), fragments)
        }
    }

    func testImpossibleCountsAndMissingFiles() throws {
        let f = try AuditFixture()
        let tooMany = try f.write("a.yaml", AuditFixture.yaml(samples: 181))
        assertDefinitionError(try AuditDefinitionParser.load(tooMany), ["data", "181 samples of batch size 1 need 181 images, but only 180 are available"])
        let missing = try f.write("b.yaml", AuditFixture.yaml().replacingOccurrences(of: AuditFixture.images, with: "no/such/folder"))
        assertDefinitionError(try AuditDefinitionParser.load(missing), ["data.folder", "no/such/folder does not exist"], line: 7)
        let weights = try f.write("c.yaml", AuditFixture.yaml().replacingOccurrences(of: "version: v1", with: "version: v1\n  weights: w.safetensors"))
        assertDefinitionError(try AuditDefinitionParser.load(weights), ["model.weights", "w.safetensors does not exist"], line: 6)
        assertDefinitionError(try AuditDefinitionParser.load(f.path("nothere.yaml")), ["nothere.yaml", "no such audit file"])
        let secagg = try f.write("d.yaml", AuditFixture.yaml(defences: "  - secagg:clients=200\n"))
        assertDefinitionError(try AuditDefinitionParser.load(secagg), ["defences", "secure aggregation over 200 clients"])
    }

    func testSyntaxErrorsAreOneLine() throws {
        let f = try AuditFixture()
        let bad = try f.write("a.yaml", "site: x\nmodel: {name: mlp\n")
        assertDefinitionError(try AuditDefinitionParser.load(bad), ["a.yaml:", "YAML syntax error"])
        let dup = try f.write("b.yaml", AuditFixture.yaml() + "\nsite: again\n")
        assertDefinitionError(try AuditDefinitionParser.load(dup), ["given twice", "site"])
        let empty = try f.write("c.yaml", "")
        assertDefinitionError(try AuditDefinitionParser.load(empty), ["empty"])
    }

    func testAnalyticOnConvModelIsAllowedButOverridesAreNot() throws {
        let f = try AuditFixture()
        let ok = try f.write("a.yaml", AuditFixture.yaml(model: "lenet", attacks: "  - analytic\n"))
        XCTAssertNoThrow(try AuditDefinitionParser.load(ok))
        let bad = try f.write("b.yaml", AuditFixture.yaml(attacks: "  - analytic: {iterations: 3}\n"))
        assertDefinitionError(try AuditDefinitionParser.load(bad), ["attacks[0].analytic.iterations", "no iterations"])
    }

    func testMultiDocumentFileAndRelativePaths() throws {
        let f = try AuditFixture()
        try FileManager.default.createSymbolicLink(atPath: f.path("imgs"), withDestinationPath: AuditFixture.images)
        let one = AuditFixture.yaml(model: "mlp").replacingOccurrences(of: AuditFixture.images, with: "imgs")
        let path = try f.write("two.yaml", one + "\n---\n" + AuditFixture.yaml(model: "lenet"))
        let docs = try AuditDefinitionParser.loadAll(path)
        XCTAssertEqual(docs.map { $0.definition.model.zoo }, ["mlp", "lenet"])
        XCTAssertEqual(docs[0].definition.resolve("imgs"), f.dir.appendingPathComponent("imgs").standardizedFileURL.path)
        assertDefinitionError(try AuditDefinitionParser.load(path), ["holds 2 audits"])
    }

    func testPlanGridKeysSelectionAndConfigHash() throws {
        let f = try AuditFixture()
        let path = try f.write("a.yaml", AuditFixture.yaml(samples: 6, attacks: "  - idlg\n  - dlg\n"))
        let plan = try AuditPlan.prepare(try AuditDefinitionParser.load(path))
        XCTAssertEqual(plan.trials.count, 6 * 2 * 2)
        XCTAssertEqual(Set(plan.trials.map(\.key)).count, plan.trials.count, "trial keys are unique")
        XCTAssertEqual(plan.trials[0].key, "s000/idlg/none")
        XCTAssertEqual(Set(plan.samples.map { $0.labels[0] }), Set(0..<6), "6 single-image samples cover the 6 classes")
        let again = try AuditPlan.prepare(try AuditDefinitionParser.load(path))
        XCTAssertEqual(again.configSHA256, plan.configSHA256, "the configuration hash is deterministic")
        XCTAssertEqual(again.samples, plan.samples)
        let shards = (1...4).map { plan.shard($0, of: 4).map(\.key) }
        XCTAssertEqual(Set(shards.flatMap { $0 }), Set(plan.trials.map(\.key)))
        XCTAssertEqual(shards.map(\.count).reduce(0, +), plan.trials.count, "shards are disjoint and cover the grid")
        let other = try f.write("b.yaml", AuditFixture.yaml(samples: 6, attacks: "  - idlg\n  - dlg\n").replacingOccurrences(of: "version: v1", with: "version: v2"))
        XCTAssertNotEqual(try AuditPlan.prepare(try AuditDefinitionParser.load(other)).configSHA256, plan.configSHA256)
    }

    /// The complete example in audits/SCHEMA.md parses (with its weights line dropped and its data path made absolute).
    func testSchemaExampleParses() throws {
        let doc = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../audits/SCHEMA.md").standardizedFileURL
        let text = try String(contentsOf: doc, encoding: .utf8)
        let start = try XCTUnwrap(text.range(of: "```yaml\n")), end = try XCTUnwrap(text.range(of: "```", range: start.upperBound..<text.endIndex))
        let example = String(text[start.upperBound..<end.lowerBound]).split(separator: "\n", omittingEmptySubsequences: false)
            .filter { !$0.contains("weights: weights/") }.joined(separator: "\n")
            .replacingOccurrences(of: "../data/medical-sample/32", with: AuditFixture.images)
        let f = try AuditFixture()
        let d = try AuditDefinitionParser.load(try f.write("schema.yaml", example)).definition
        XCTAssertEqual(d.attacks.map(\.label), ["idlg", "cpl", "dlg", "gradinv-tv005", "cpl-short", "analytic"])
        XCTAssertEqual(d.defences.count, 15)
        XCTAssertEqual(d.declaredDefence.description, "laplace:level=100")
        XCTAssertEqual(d.utility?.rounds, 40)
        XCTAssertEqual(d.output.database, "../audits.sqlite")
    }

    func testUtilityTrainingIsCheckedAgainstEveryDefenceBeforeWork() throws {
        let f = try AuditFixture()
        let path = try f.write("a.yaml", AuditFixture.yaml(defences: "  - none\n  - secagg:clients=4\n",
                                                            extra: "utility:\n  max_accuracy_drop: 0.1\n  clients: 2\n  rounds: 1\n"))
        assertDefinitionError(try AuditPlan.prepare(try AuditDefinitionParser.load(path)),
                              ["utility", "secagg:clients=4", "needs at least 4 clients"])
        let ok = try f.write("b.yaml", AuditFixture.yaml(extra: "utility:\n  max_accuracy_drop: 0.1\n  rounds: 1\n  partition: dirichlet:0.5\n"))
        let plan = try AuditPlan.prepare(try AuditDefinitionParser.load(ok))
        XCTAssertEqual(plan.utilityTraining?.config.rounds, 1)
        XCTAssertEqual(plan.utilityTraining?.dataset.count, 180)
        let badSplit = try f.write("c.yaml", AuditFixture.yaml(extra: "utility:\n  max_accuracy_drop: 0.1\n  partition: skewed\n"))
        assertDefinitionError(try AuditDefinitionParser.load(badSplit), ["utility.partition", "skewed"])
    }

    func testSHA256KnownVectors() {
        XCTAssertEqual(SHA256Digest.hex(of: ""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(SHA256Digest.hex(of: "abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(SHA256Digest.hex(of: String(repeating: "a", count: 1_000)),
                       "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3")
        var d = SHA256Digest()
        for chunk in ["abcdbcdecdefdefgefghfghighij", "hijkijkljklmklmnlmnomnopnopq"] { d.update(Array(chunk.utf8)) }
        XCTAssertEqual(d.hexDigest(), "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
    }
}
