import XCTest
import Attacks
import NN
import Tensor

/// The attack registry is the one list of attacks: every entry documents itself and runs.
final class RegistryTests: XCTestCase {
    func testEveryAttackDocumentsItself() {
        XCTAssertEqual(Set(AttackRegistry.keys).count, AttackRegistry.keys.count, "keys are unique")
        for m in AttackRegistry.all {
            XCTAssertFalse(m.displayName.isEmpty, m.key)
            XCTAssertNotNil(m.citation.range(of: #"^[A-Z][^,]+ (19|20)\d\d, .+"#, options: .regularExpression),
                            "\(m.key): citation 'Author et al. YEAR, Title, Venue', got '\(m.citation)'")
            XCTAssertEqual(m.defaults.kind.rawValue, m.key, "\(m.key): its defaults name it")
            XCTAssertEqual(AttackKind(rawValue: m.key)?.method.key, m.key)
            XCTAssertEqual(Set(m.parameters.map(\.key)).count, m.parameters.count, "\(m.key): parameter keys are unique")
            XCTAssertFalse(m.parameters.contains { $0.key == "label" }, "\(m.key): 'label' is every entry's own key")
            XCTAssertFalse(m.describe(m.defaults).isEmpty, m.key)
            XCTAssertFalse(m.summary(m.defaults).isEmpty, m.key)
            for p in m.parameters {
                XCTAssertGreaterThan(p.doc.count, 10, "\(m.key).\(p.key) is documented")
                // The default, written back as text, leaves the configuration as it was.
                let shown = p.value(in: m.defaults)
                if shown != "none" {
                    var c = m.defaults
                    XCTAssertNoThrow(try p.set(text: shown, in: &c), "\(m.key).\(p.key) = \(shown)")
                    XCTAssertEqual(c, m.defaults, "\(m.key).\(p.key) round trip")
                }
            }
        }
        XCTAssertNil(AttackKind(rawValue: "no-such-attack"))
    }

    /// Read-outs of one gradient (analytic, batch labels, imprint) are sized as one gradient: a batch the
    /// gradient-matching estimate refuses (resnet18-cifar, 32 px, batch 256: about 32 GiB) needs 7/16 of it.
    func testOneGradientAttacksNeedLessMemory() throws {
        var firstOrder: Set<String> = []
        for m in AttackRegistry.all where !m.differentiatesGradient { firstOrder.insert(m.key) }
        XCTAssertEqual(firstOrder, ["analytic", "ilrg", "imprint"])
        let m = try ModelZoo.make("resnet18-cifar", classes: 6)
        let second = m.memoryEstimate(batch: 256), first = m.memoryEstimate(batch: 256, secondOrder: false)
        XCTAssertEqual(first / second, 7.0 / 16, accuracy: 1e-12)
        XCTAssertGreaterThan(second, 30 * 1_073_741_824.0)
        XCTAssertLessThan(first, 15 * 1_073_741_824.0)
    }

    /// Out-of-range values are refused with the range, never clamped.
    func testParametersCheckTheirRanges() throws {
        var c = AttackConfig.defaults(for: .dlg)
        let iterations = try XCTUnwrap(AttackKind.dlg.method.parameters.first { $0.key == "iterations" })
        XCTAssertThrowsError(try iterations.set(text: "0", in: &c)) { XCTAssertTrue("\($0)".contains("at least 1"), "\($0)") }
        XCTAssertThrowsError(try iterations.set(text: "ten", in: &c))
        try iterations.set(text: "7", in: &c)
        XCTAssertEqual(c.iterations, 7)
        let policy = try XCTUnwrap(AttackKind.dlg.method.parameters.first { $0.key == "restart_policy" })
        XCTAssertThrowsError(try policy.set(text: "sometimes", in: &c)) { XCTAssertTrue("\($0)".contains("on-stall"), "\($0)") }
        let lr = try XCTUnwrap(AttackKind.gradinv.method.parameters.first { $0.key == "lr" })
        XCTAssertThrowsError(try lr.set(text: "0", in: &c)) { XCTAssertTrue("\($0)".contains("> 0"), "\($0)") }
        XCTAssertThrowsError(try lr.set(text: "nan", in: &c))
    }

    /// Every registered attack runs on a tiny model (two iterations) and returns a batch of the right shape.
    func testEveryAttackRunsOnATinyModel() throws {
        let lenet = try ModelZoo.make("lenet", classes: 4)
        let mlp = try ModelZoo.make("mlp", classes: 4)
        let bnNet = try ModelZoo.make("resnet18-cifar", classes: 4, size: 16)
        var rng = SeededGenerator(seed: 3)
        for m in AttackRegistry.all {
            let site = [lenet, mlp, bnNet].first { m.inapplicability(model: $0, batchSize: 1) == nil } ?? lenet
            XCTAssertNil(m.inapplicability(model: site, batchSize: 1), "\(m.key) applies to lenet, mlp or resnet18-cifar")
            // A malicious server's attack runs on the model it served (the site's, modified).
            let siteState = site.initialState(seed: 5)
            let (model, state) = try m.servedModel(m.defaults, model: site, state: siteState, seed: 1) ?? (site, siteState)
            let x = Tensor.uniform([1] + model.inputShape, low: 0, high: 1, using: &rng)
            let g = model.gradients(images: x, labels: [2], state: state, bn: .train).grads
            let p = AttackProblem(model: model, state: state, bn: .train, update: g, batchSize: 1)
            var c = m.defaults
            if let it = m.parameters.first(where: { $0.key == "iterations" }) { try it.set(text: "2", in: &c) }
            if let r = m.parameters.first(where: { $0.key == "restarts" }) { try r.set(text: "1", in: &c) }
            let result = try Attack.run(c, on: p, seed: 1)
            XCTAssertTrue(result.applicable, m.key)
            XCTAssertEqual(result.kind.rawValue, m.key)
            XCTAssertEqual(result.images.shape, p.imageShape, m.key)
            XCTAssertTrue(result.images.scalars.allSatisfy { $0.isFinite && $0 >= 0 && $0 <= 1 }, m.key)
            XCTAssertEqual(result.labels.count, 1, m.key)
        }
    }

    /// audits/SCHEMA.md's Attacks section is the registry's (regenerate: `medpfl attacks --markdown`).
    func testSchemaDocumentListsTheRegistry() throws {
        let doc = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../audits/SCHEMA.md").standardizedFileURL
        let text = try String(contentsOf: doc, encoding: .utf8)
        let begin = try XCTUnwrap(text.range(of: "<!-- attacks:begin -->\n")), end = try XCTUnwrap(text.range(of: "<!-- attacks:end -->"))
        XCTAssertEqual(String(text[begin.upperBound..<end.lowerBound]), AttackRegistry.markdown,
                       "audits/SCHEMA.md is out of date: paste `medpfl attacks --markdown` between the markers")
    }
}
