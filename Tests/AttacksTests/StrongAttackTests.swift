import Foundation
import XCTest
import Evaluation
import Federated
import Imaging
import NN
import Tensor
@testable import Attacks

/// The batch attacks of issue 16 on the bundled real images (data/medical-sample/32): iLRG's batch label
/// restoration and the malicious server's imprint attack, with and without secure aggregation.
final class StrongAttackTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../data/medical-sample/32").standardized.path
    static let classes = ["ct", "fundus", "histology", "mri", "ultrasound", "xray"]

    /// The first `count` images, taken round-robin over the six classes (so counts differ between classes
    /// when `count` is not a multiple of six), at `size` pixels.
    func sample(_ count: Int, size: Int = 32, skip: Int = 0) throws -> (x: Tensor, labels: [Int]) {
        let fm = FileManager.default
        let lists = try Self.classes.map { c in try fm.contentsOfDirectory(atPath: "\(Self.root)/\(c)").filter { $0.hasSuffix(".png") }.sorted() }
        var data: [Float] = [], labels: [Int] = []
        var k = skip
        while labels.count < count {
            let c = k % 6, i = k / 6
            k += 1
            guard i < lists[c].count else { continue }
            data += try RGBImage(path: "\(Self.root)/\(Self.classes[c])/\(lists[c][i])").fitted(size: size).pixels
            labels.append(c)
        }
        return (Tensor(shape: [count, 3, size, size], data: data), labels)
    }

    func problem(_ model: Model, _ state: ModelState, _ x: Tensor, _ labels: [Int], bn: BNMode = .train) -> AttackProblem {
        let g = model.gradients(images: x, labels: labels, state: state, bn: bn).grads
        return AttackProblem(model: model, state: state, bn: bn, update: g, batchSize: labels.count)
    }

    /// iLRG restores the label counts of a batch of 32 real images exactly on untrained LeNet and CNN7 (the
    /// paper's untrained setting), with uneven counts; the same restoration is what `inferLabels` gives.
    func testILRGRestoresBatchOf32Exactly() throws {
        let (x, y) = try sample(32)
        var truth = [Int](repeating: 0, count: 6)
        for l in y { truth[l] += 1 }
        XCTAssertEqual(truth, [6, 6, 5, 5, 5, 5])
        // CNN7 (ReLU features): exact. LeNet's sigmoid features break the paper's condition (non-negative
        // embeddings of one class sharing a softmax output) slightly: one of 32 labels off at this seed.
        let lenet = try ModelZoo.make("lenet", classes: 6)
        let lp = problem(lenet, lenet.initialState(seed: 11), x, y)
        XCTAssertGreaterThanOrEqual(LabelRestoration.Accuracy(restored: Attack.inferLabels(lp), truth: y, classes: 6).multiset, 31.0 / 32)
        for name in ["cnn7"] {
            let model = try ModelZoo.make(name, classes: 6)
            let p = problem(model, model.initialState(seed: 11), x, y)
            XCTAssertEqual(LabelRestoration.ilrgCounts(p), truth, name)
            XCTAssertEqual(Attack.inferLabels(p), y.sorted(), name)
            let r = try Attack.run(.defaults(for: .ilrg), on: p, seed: 1)
            let acc = LabelRestoration.Accuracy(restored: r.labels, truth: y, classes: 6)
            XCTAssertEqual(acc, LabelRestoration.Accuracy(restored: y, truth: y, classes: 6))
            XCTAssertEqual(acc.count, 1); XCTAssertEqual(acc.existence, 1); XCTAssertEqual(acc.multiset, 1)
        }
    }

    /// The label attack's default (`auto`) is the label source's rule: iLRG on CNN7 (no batch norm), LLG+ on the
    /// BN model `resnet18-cifar`, where iLRG is the weaker of the two (on this batch of 32 it gets only part of
    /// the multiset, LLG+ all but at most a few; the authors' code gives iLRG's counts on such a model too:
    /// docs/RESULTS.md). An audit that lists `ilrg` must not judge label leakage by the weaker estimate.
    func testLabelAttackDefaultUsesTheStrongerRuleOnBNModels() throws {
        let (x, y) = try sample(32)
        XCTAssertEqual(BatchLabelRestoration.method(.defaults(for: .ilrg)), .auto)
        let bnModel = try ModelZoo.make("resnet18-cifar", classes: 6)
        XCTAssertTrue(bnModel.hasBatchNorm)
        let p = problem(bnModel, bnModel.initialState(seed: 11), x, y)
        let auto = try Attack.run(.defaults(for: .ilrg), on: p, seed: 1).labels
        var llg = AttackConfig.defaults(for: .ilrg); llg.extras = ["method": "llg"]
        var ilrg = AttackConfig.defaults(for: .ilrg); ilrg.extras = ["method": "ilrg"]
        XCTAssertEqual(auto, try Attack.run(llg, on: p, seed: 1).labels)
        let strong = LabelRestoration.Accuracy(restored: auto, truth: y, classes: 6).multiset
        let weak = LabelRestoration.Accuracy(restored: try Attack.run(ilrg, on: p, seed: 1).labels, truth: y, classes: 6).multiset
        XCTAssertGreaterThanOrEqual(strong, 29.0 / 32)
        XCTAssertLessThan(weak, strong)
        let cnn = try ModelZoo.make("cnn7", classes: 6)
        let q = problem(cnn, cnn.initialState(seed: 11), x, y)
        XCTAssertEqual(try Attack.run(.defaults(for: .ilrg), on: q, seed: 1).labels, try Attack.run(ilrg, on: q, seed: 1).labels)
    }

    /// Labels only: the attack's flat grey placeholder is never scored as a rebuilt image, even against an
    /// original it happens to resemble (a flat 0.5 image scores SSIM 1 against itself).
    func testLabelOnlyAttackRebuildsNoImage() throws {
        let (x, y) = try sample(8)
        let model = try ModelZoo.make("cnn7", classes: 6)
        let p = problem(model, model.initialState(seed: 11), x, y)
        let r = try Attack.run(.defaults(for: .ilrg), on: p, seed: 1)
        XCTAssertFalse(BatchLabelRestoration.reconstructsImages)
        let flat = Tensor(shape: x.shape, repeating: 0.5)
        let scored = Scoring.score(originals: flat, labels: y, result: r, threshold: 0.9)
        XCTAssertEqual(scored.map(\.score.ssim), [Double](repeating: 0, count: 8))
        XCTAssertFalse(scored.contains { $0.score.success })
        XCTAssertEqual(scored.map(\.reconstruction), Array(0..<8), "no pairing by SSIM")
        XCTAssertEqual(scored.compactMap(\.recoveredLabel).sorted(), y.sorted(), "the labels still count")
        // An attack that rebuilds images is scored as before: the same flat image against itself is SSIM 1.
        let same = AttackResult(kind: .imprint, applicable: true, note: nil, images: r.images, labels: r.labels, iterations: 0,
                                evaluations: 0, finalLoss: 0, seconds: 0)
        XCTAssertEqual(Scoring.score(originals: flat, labels: y, result: same, threshold: 0.9)[0].score.ssim, 1, accuracy: 1e-6)
    }

    /// iLRG's counts follow the classes present: a batch of 8 from 3 classes (existence of the other 3 is
    /// told right too), and the rounding keeps the total at the batch size.
    func testILRGTellsWhichClassesAreAbsent() throws {
        let (x, y) = try sample(8)
        let picked = (0..<8).filter { y[$0] < 3 }
        let xs = concat(picked.map { x.slice(axis: 0, $0 ..< $0 + 1) }, axis: 0), ys = picked.map { y[$0] }
        let model = try ModelZoo.make("lenet", classes: 6)
        let counts = LabelRestoration.ilrgCounts(problem(model, model.initialState(seed: 5), xs, ys))!
        XCTAssertEqual(counts, [2, 2, 1, 0, 0, 0])
        XCTAssertEqual(LabelRestoration.roundCounts([2.6, -0.4, 0.7, 9], total: 4), [3, 0, 1, 0])
        XCTAssertEqual(LabelRestoration.roundCounts([0.4, 0.4, 0.45], total: 2), [1, 0, 1])
        // The accuracy figures: one count wrong out of six classes, every existence right.
        let a = LabelRestoration.Accuracy(restored: [0, 0, 1], truth: [0, 1, 1], classes: 6)
        XCTAssertEqual(a.existence, 1); XCTAssertEqual(a.count, 4.0 / 6, accuracy: 1e-12); XCTAssertEqual(a.multiset, 2.0 / 3, accuracy: 1e-12)
    }

    /// Least squares by QR against the normal equations' solution on a small full-rank system.
    func testLeastSquaresSolvesOverdeterminedSystem() {
        let a: [Double] = [1, 1, 1, -0.5, 0.25, 2, 0.3, -1]   // 4 x 2
        let v: [Double] = [2, 0.1, 3, -0.7]
        let x = LabelRestoration.leastSquares(a, rows: 4, cols: 2, v)
        // Normal equations: (A^T A) x = A^T v.
        var ata = [0.0, 0, 0, 0], atv = [0.0, 0]
        for r in 0..<4 { for i in 0..<2 { atv[i] += a[r * 2 + i] * v[r]; for j in 0..<2 { ata[i * 2 + j] += a[r * 2 + i] * a[r * 2 + j] } } }
        let det = ata[0] * ata[3] - ata[1] * ata[2]
        XCTAssertEqual(x[0], (ata[3] * atv[0] - ata[1] * atv[1]) / det, accuracy: 1e-12)
        XCTAssertEqual(x[1], (ata[0] * atv[1] - ata[2] * atv[0]) / det, accuracy: 1e-12)
        XCTAssertEqual(normalQuantile(0.975), 1.959963984540054, accuracy: 1e-12)
        XCTAssertEqual(normalQuantile(0.01), -2.3263478740408408, accuracy: 1e-12)
    }

    /// The served model: the site's model with the imprint block in front; the block's gradients give every
    /// image alone in its brightness gap back exactly (MSE < 1e-8) at batch 8, on resnet18-cifar (BN train).
    func testImprintRecoversImagesExactlyAtBatch8() throws {
        let (x, y) = try sample(8)
        let site = try ModelZoo.make("resnet18-cifar", classes: 6)
        let state = site.initialState(seed: 2)
        let config = AttackConfig.defaults(for: .imprint)
        let (served, sstate) = try Imprint.servedModel(config, model: site, state: state, seed: 1)!
        XCTAssertEqual(served.parameters.count, site.parameters.count + 4)
        XCTAssertEqual(Array(served.parameterNames.prefix(site.parameters.count)), site.parameterNames)
        XCTAssertEqual(served.classifierWeight, site.classifierWeight)
        // The served model still classifies: its logits stay close to the site's (the block adds a small offset).
        let ls = site.forward(x, state: state, bn: .eval), lm = served.forward(x, state: sstate, bn: .eval)
        XCTAssertEqual(ls.shape, lm.shape)
        let p = problem(served, sstate, x, y)
        let r = try Attack.run(config, on: p, seed: 1)
        XCTAssertTrue(r.applicable)
        let per = x.count / 8
        var exact = 0
        for i in 0..<8 {
            let o = Array(x.scalars[(i * per)..<((i + 1) * per)])
            let best = (0..<8).map { j -> Double in
                let rj = Array(r.images.scalars[(j * per)..<((j + 1) * per)])
                return zip(o, rj).reduce(0.0) { $0 + Double(($1.0 - $1.1) * ($1.0 - $1.1)) } / Double(per)
            }.min()!
            if best < 1e-8 { exact += 1 }
        }
        // Exactly the images alone in their brightness gap come out exact (here 6 of 8: two share a gap).
        XCTAssertEqual(exact, alone(x, Imprint.thresholds(Imprint.settings(config))), r.note ?? "")
        XCTAssertGreaterThanOrEqual(exact, 5)
        // On the site's own model (an honest server) the attack does not apply.
        let honest = try Attack.run(config, on: problem(site, state, x, y), seed: 1)
        XCTAssertFalse(honest.applicable)
    }

    /// How many images of the batch have a mean brightness alone between two consecutive thresholds.
    func alone(_ x: Tensor, _ t: [Double]) -> Int {
        let n = x.shape[0], per = x.count / n
        let gap = (0..<n).map { i -> Int in
            let b = x.scalars[(i * per)..<((i + 1) * per)].reduce(0.0) { $0 + Double($1) } / Double(per)
            return t.lastIndex { $0 < b } ?? -1
        }
        return gap.filter { g in gap.filter { $0 == g }.count == 1 }.count
    }

    /// Under secure aggregation the attacker sees the mean of K clients' updates: images alone in their gap
    /// among all K x B are still exact; more images share gaps, so fewer come out.
    func testImprintUnderSecureAggregation() throws {
        let (x, y) = try sample(32)
        let site = try ModelZoo.make("lenet", classes: 6)
        let config = AttackConfig.defaults(for: .imprint)
        let (served, sstate) = try Imprint.servedModel(config, model: site, state: site.initialState(seed: 4), seed: 1)!
        let round = try InterceptedRound.simulate(.gradient, model: served, state: sstate, images: x, labels: y, bn: .train,
                                                  defence: try DefenceSpec(parsing: "secagg:clients=4"), seed: 9)
        let p = AttackProblem(model: served, state: sstate, bn: .train, update: round.update.tensors, batchSize: 32, kind: .gradient, clients: 4)
        let r = try Attack.run(config, on: p, seed: 1)
        let per = x.count / 32
        var exact = 0
        for i in 0..<32 {
            let o = Array(x.scalars[(i * per)..<((i + 1) * per)])
            for j in 0..<32 {
                let rj = Array(r.images.scalars[(j * per)..<((j + 1) * per)])
                if zip(o, rj).reduce(0.0, { $0 + Double(($1.0 - $1.1) * ($1.0 - $1.1)) }) / Double(per) < 1e-8 { exact += 1; break }
            }
        }
        XCTAssertEqual(exact, alone(x, Imprint.thresholds(Imprint.settings(config))), r.note ?? "")
        XCTAssertGreaterThanOrEqual(exact, 8)
        XCTAssertLessThan(exact, 32)
    }
}

extension StrongAttackTests {
    /// The client-side check flags the served model's imprint layer (rows collinear, biases monotone) and no
    /// layer of the site's own model, untrained or not.
    func testImprintCheckFlagsTheServedModelOnly() throws {
        for name in ["lenet", "resnet18-cifar", "mlp"] {
            let site = try ModelZoo.make(name, classes: 6)
            let state = site.initialState(seed: 8)
            XCTAssertTrue(ImprintCheck.check(site, state: state).allSatisfy { !$0.flagged }, name)
            let (served, sstate) = try Imprint.servedModel(.defaults(for: .imprint), model: site, state: state, seed: 1)!
            let flagged = ImprintCheck.check(served, state: sstate).filter(\.flagged)
            // Both of the block's layers: its measuring rows and its constant read-back rows.
            XCTAssertEqual(flagged.map(\.tensor), ["imprint.linear0.weight", "imprint.linear1.weight"], name)
            XCTAssertEqual(flagged.first?.monotoneBias, true)
            XCTAssertEqual(flagged.first?.collinearRows, 64)
        }
    }
}

extension StrongAttackTests {
    /// GradInversion's objective (gradient matching + BN prior + TV + L2, double backward through a BN
    /// ResNet) has the input gradient finite differences give; at the true batch its matching term vanishes,
    /// so only the priors remain; the BN prior is what separates it from the ablation (bn_prior 0).
    func testGradInversionObjectiveGradient() throws {
        let (p, graph, x, y) = try smoothBNProblem()
        var c = AttackConfig.defaults(for: .gradinversion)
        let s = GradInversion.settings(c)
        let f = GradInversionObjective(graph: graph, problem: p, labels: y, settings: s, tv: Float(c.tvWeight))
        var rng = SeededGenerator(seed: 7)
        let z = Tensor.randn(x.shape, using: &rng)
        let (_, g) = f.evaluate(z)
        for _ in 0..<2 {
            let v = Tensor.randn(x.shape, using: &rng)
            let eps: Float = 1e-2
            let plus = Double(f.evaluate((z + v * eps).detached()).loss), minus = Double(f.evaluate((z - v * eps).detached()).loss)
            let numeric = (plus - minus) / (2 * Double(eps))
            let analytic = zip(g, v.scalars).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
            XCTAssertEqual(analytic, numeric, accuracy: 3e-2 * abs(numeric) + 1e-6)
        }
        // At the true batch: matching 0, so the objective is the priors alone; without the BN prior it is smaller.
        try AttackKind.gradinversion.method.parameters.first { $0.key == "bn_prior" }!.set(text: "0", in: &c)
        let ablation = GradInversionObjective(graph: graph, problem: p, labels: y, settings: GradInversion.settings(c), tv: Float(c.tvWeight))
        let withPrior = f.evaluate(x).loss, without = ablation.evaluate(x).loss
        XCTAssertLessThan(without, withPrior)
        XCTAssertEqual(Double(without), Double(totalVariation(x).scalar) * 1e-4 + Double((x * x).mean().scalar) * 0.5e-6, accuracy: 1e-7)
        // Not applicable without batch norm.
        XCTAssertNotNil(GradInversion.inapplicability(model: try ModelZoo.make("lenet", classes: 6), batchSize: 1))
    }
}

extension StrongAttackTests {
    /// A smooth batch-norm network (softplus: a ReLU network's parameter gradient jumps at every kink in x, so finite
    /// differences of a gradient-matching loss are only meaningful on a smooth one), its problem on two real images
    /// at 16 px, and its graph at batch 2.
    func smoothBNProblem() throws -> (AttackProblem, Graph, Tensor, [Int]) {
        let (x, y) = try sample(2, size: 16)
        let b = ModelBuilder()
        var h = b.conv("conv1", b.input, 3, 8, kernel: 3, stride: 2, padding: 1)
        h = b.apply(.softplus, b.batchNorm("bn1", h, 8))
        h = b.conv("conv2", h, 8, 8, kernel: 3, stride: 2, padding: 1)
        h = b.apply(.softplus, b.batchNorm("bn2", h, 8))
        let model = try b.build(name: "smooth-bn", inputShape: [3, 16, 16], classes: 6, output: b.linear("fc", b.flatten(h), 8 * 4 * 4, 6))
        let state = model.initialState(seed: 3)
        guard case .whole(let graph) = try model.graph.plan(batch: 2, bn: .train) else { throw AttackParameterError("the smooth BN net must plan as one graph") }
        return (problem(model, state, x, y), graph, x, y)
    }

    /// Jitter and flip (Yin et al. 2021): the objective of a cyclically shifted, horizontally flipped batch, with the
    /// gradient mapped back to the unshifted batch, as finite differences give it; and the transformed batch is the
    /// one the plain objective sees (pixel (y, x) of the moved batch is pixel ((y - dy) mod h, w - 1 - ((x - dx) mod w))).
    func testGradInversionJitterAndFlipMapTheGradientBack() throws {
        let (p, graph, x, y) = try smoothBNProblem()
        let f = GradInversionObjective(graph: graph, problem: p, labels: y, settings: GradInversion.settings(.defaults(for: .gradinversion)), tv: 1e-4)
        var rng = SeededGenerator(seed: 11)
        let z = Tensor.randn(x.shape, using: &rng)
        let shift = (dy: 1, dx: -2)
        let (loss, g) = f.evaluate(z, shift: shift, flip: true)
        let (h, w) = (16, 16), zs = z.scalars
        var moved = [Float](repeating: 0, count: zs.count)
        for q in 0..<(zs.count / (h * w)) {
            for r in 0..<h {
                for c in 0..<w {
                    let sr = ((r - shift.dy) % h + h) % h, sc = w - 1 - ((c - shift.dx) % w + w) % w
                    moved[q * h * w + r * w + c] = zs[q * h * w + sr * w + sc]
                }
            }
        }
        XCTAssertEqual(loss, f.evaluate(Tensor(shape: z.shape, data: moved)).loss)
        XCTAssertNotEqual(loss, f.evaluate(z).loss, "the transformation changes what the objective sees")
        for _ in 0..<2 {
            let v = Tensor.randn(x.shape, using: &rng)
            let eps: Float = 1e-2
            let plus = Double(f.evaluate((z + v * eps).detached(), shift: shift, flip: true).loss)
            let minus = Double(f.evaluate((z - v * eps).detached(), shift: shift, flip: true).loss)
            let numeric = (plus - minus) / (2 * Double(eps))
            let analytic = zip(g, v.scalars).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
            XCTAssertEqual(analytic, numeric, accuracy: 3e-2 * abs(numeric) + 1e-6)
        }
    }

    /// Group consistency pulls the members together (their spread after 40 lock-step iterations is far below the spread
    /// without it, from the same starts), and the attack returns the lowest-objective of the members and their mean.
    func testGradInversionGroupConsistencyPullsTheMembersTogether() throws {
        let (p, graph, x, y) = try smoothBNProblem()
        var c = AttackConfig.defaults(for: .gradinversion)
        c.iterations = 40
        c.extras?["langevin"] = "0"
        func spread(_ weight: String) throws -> Double {
            var cw = c
            cw.extras?["group"] = "3"
            cw.extras?["group_weight"] = weight
            let f = GradInversionObjective(graph: graph, problem: p, labels: y, settings: GradInversion.settings(cw), tv: 1e-4)
            var rng = SeededGenerator(seed: 5)
            let starts = (0..<3).map { _ in Tensor.randn(x.shape, using: &rng).scalars }
            let o = f.adamGroup(starts, config: cw, rng: &rng, progress: nil)
            XCTAssertEqual(o.members.count, 3)
            XCTAssertEqual(o.iterations, 40)
            XCTAssertTrue(o.loss.isFinite)
            var total = 0.0
            for a in 0..<3 { for b in (a + 1)..<3 { total += zip(o.members[a], o.members[b]).reduce(0.0) { $0 + Double(($1.0 - $1.1) * ($1.0 - $1.1)) } } }
            return total.squareRoot()
        }
        let free = try spread("0"), pulled = try spread("1")
        XCTAssertLessThan(pulled, 0.5 * free, "group consistency brings the members together (\(pulled) vs \(free))")
        // Through the attack: three members, their Adam evaluations and the final judging counted.
        c.extras?["group"] = "3"
        let r = try GradInversion.run(c, on: p, seed: 9, start: nil, progress: nil)
        XCTAssertTrue(r.applicable)
        XCTAssertEqual(r.iterations, 40)
        XCTAssertEqual(r.evaluations, 41 * 3 + 1)
        XCTAssertTrue(r.finalLoss.isFinite)
        XCTAssertTrue(GradInversion.describe(c).contains("group consistency over 3 members x 0.01"))
    }
}
