import Foundation
import XCTest
import Tensor
@testable import Federated

final class SparsifyQuantiseDPTests: XCTestCase {
    func testPruneZeroesExactlyTheSmallestFractionPerTensor() throws {
        var g = SeededGenerator(seed: 8)
        let u = ModelUpdate(names: ["a", "b", "c"],
                            tensors: [Tensor.randn([1000], using: &g), Tensor.randn([20, 5], using: &g) * 10,
                                      Tensor.randn([101], using: &g) * 0.01])
        var rng = SeededGenerator(seed: 0)
        let out = try DefenceSpec(parsing: "prune:p=90").apply(u, rng: &rng)
        // floor(0.9 (n - 1)) + 1 zeros per tensor: 900 of 1000, 90 of 100, 91 of 101.
        for (k, expected) in [900, 90, 91].enumerated() {
            let orig = u.tensors[k].scalars, pruned = out.update.tensors[k].scalars
            XCTAssertEqual(pruned.filter { $0 == 0 }.count, expected, u.names[k])
            let kept = orig.indices.filter { pruned[$0] != 0 }
            let smallestKept = kept.map { abs(orig[$0]) }.min()!
            let largestZeroed = orig.indices.filter { pruned[$0] == 0 }.map { abs(orig[$0]) }.max()!
            XCTAssertGreaterThan(smallestKept, largestZeroed)
            for i in kept { XCTAssertEqual(pruned[i], orig[i]) }
        }
        XCTAssertEqual(out.effect.fractionChanged, Double(900 + 90 + 91) / 1201, accuracy: 1e-12)
        XCTAssertEqual(out.effect.label, "prune 90% smallest |u| per tensor")
    }

    func testStochasticQuantisationIsUnbiasedWithAtMost2ToTheKValues() {
        var g = SeededGenerator(seed: 5)
        let t = Tensor.uniform([200], low: -1, high: 2, using: &g)
        let x = t.scalars
        var rng = SeededGenerator(seed: 6)
        var sums = [Double](repeating: 0, count: x.count)
        let trials = 2000
        var distinct = Set<Float>()
        for _ in 0..<trials {
            let q = Quantisation.stochastic(t, bits: 2, rng: &rng).scalars
            for i in 0..<q.count { sums[i] += Double(q[i]) }
            distinct.formUnion(q)
        }
        XCTAssertLessThanOrEqual(distinct.count, 4)
        XCTAssertTrue(distinct.contains(x.min()!) && distinct.contains(x.max()!))
        let step = Double(x.max()! - x.min()!) / 3
        var worst = 0.0
        for i in 0..<x.count { worst = max(worst, abs(sums[i] / Double(trials) - Double(x[i]))) }
        XCTAssertLessThan(worst, 0.06 * step)          // std of a mean of 2000 roundings <= 0.011 step
        // Mean over all entries of one draw is also close.
        for bits in [1, 3, 8] {
            let q = Quantisation.stochastic(t, bits: bits, rng: &rng).scalars
            XCTAssertLessThanOrEqual(Set(q).count, 1 << bits)
            XCTAssertTrue(q.allSatisfy { $0 >= x.min()! && $0 <= x.max()! })
        }
        let constant = Tensor(shape: [4], repeating: 0.3)
        XCTAssertEqual(Quantisation.stochastic(constant, bits: 2, rng: &rng).scalars, [0.3, 0.3, 0.3, 0.3])
    }

    func testSignQuantisation() throws {
        let u = update([2, -4, 0, 6])
        var rng = SeededGenerator(seed: 1)
        let out = try DefenceSpec(parsing: "quantize:sign").apply(u, rng: &rng)
        XCTAssertEqual(out.update.flatValues, [3, -3, 0, 3])
        XCTAssertEqual(out.effect.fractionChanged, 0.75)
    }

    func testClipWithoutNoiseIsNotDP() throws {
        let u = update([3, 4])
        var rng = SeededGenerator(seed: 1)
        let out = try DefenceSpec(parsing: "clip:norm=1").apply(u, rng: &rng)
        XCTAssertEqual(out.update.l2Norm, 1, accuracy: 1e-6)
        XCTAssertNil(out.effect.epsilon)
        XCTAssertEqual(out.effect.label, "clip L2<=1 (not DP)")
        let small = try DefenceSpec(parsing: "clip:norm=10").apply(u, rng: &rng)
        XCTAssertEqual(small.update.flatValues, [3, 4])
        XCTAssertEqual(small.effect.snr, .infinity)
    }

    func testFixedOrderClipThenPruneThenQuantiseThenNoise() throws {
        let u = update([1, -2, 3, -4, 5, -6, 7, -8, 9, -10])
        var r1 = SeededGenerator(seed: 4), r2 = SeededGenerator(seed: 4)
        let combined = try DefenceSpec(parsing: "laplace:scale=0.01+quantize:bits=2+prune:p=50+clip:norm=1")
            .apply(u, rng: &r1)
        var manual = u.clipped(toNorm: 1).update
        manual = Pruning.prune(manual, percent: 50)
        manual = Quantisation.quantise(manual, .stochastic(bits: 2), rng: &r2)
        manual = Noise.addLaplace(manual, scale: 0.01, rng: &r2)
        XCTAssertEqual(combined.update.flatValues, manual.flatValues)
        XCTAssertEqual(combined.effect.label, "clip L2<=1 (not DP) + prune 50% smallest |u| per tensor + "
                       + "2-bit stochastic quantisation per tensor + Laplace b=0.01")
    }

    func testDPClipsEachExampleToC() throws {
        var g = SeededGenerator(seed: 30)
        let examples = (0..<6).map { i in
            ModelUpdate(names: ["w", "b"], tensors: [Tensor.randn([5, 4], using: &g) * Float(i + 1),
                                                     Tensor.randn([4], using: &g)])
        }
        for e in examples {
            let (c, factor) = e.clipped(toNorm: 2)
            XCTAssertLessThanOrEqual(c.l2Norm, 2 + 1e-6)
            XCTAssertEqual(factor, min(1, 2 / (e.l2Norm + 1e-6)), accuracy: 1e-12)
        }
        // sigma = 0: the output is exactly the mean of the clipped examples.
        var rng = SeededGenerator(seed: 1)
        let noiseless = try DefenceSpec(parsing: "dp:clip=2,sigma=0").applyDP(perExample: examples, rng: &rng)
        let expected = ModelUpdate.mean(examples.map { $0.clipped(toNorm: 2).update })
        XCTAssertEqual(noiseless.update.distance(to: expected), 0, accuracy: 1e-6)
        XCTAssertLessThanOrEqual(noiseless.update.l2Norm, 2 + 1e-6)
        XCTAssertEqual(noiseless.effect.epsilon, .infinity)

        let spec = try DefenceSpec(parsing: "dp:clip=2,sigma=0.5")
        var r1 = SeededGenerator(seed: 2)
        let noisy = spec.applyDP(perExample: examples, rng: &r1)
        XCTAssertEqual(noisy.effect.epsilon!, 10.725509696418232, accuracy: 1e-9)
        XCTAssertEqual(noisy.effect.delta, 1e-5)
        XCTAssertEqual(noisy.effect.noiseStd!, 0.5 * 2 / 6, accuracy: 1e-12)
        // Same draws by hand: noise N(0, (sigma C)^2) on the clipped sum, then / B.
        var r2 = SeededGenerator(seed: 2)
        let sum = ModelUpdate.sum(examples.map { $0.clipped(toNorm: 2).update })
        let byHand = Noise.addGaussian(sum, std: 1.0, rng: &r2).scaled(by: 1.0 / 6)
        XCTAssertEqual(noisy.update.distance(to: byHand), 0, accuracy: 1e-6)
        // The effect is measured against the unclipped batch mean.
        let mean = ModelUpdate.mean(examples)
        XCTAssertEqual(noisy.effect.snr, mean.l2Norm / mean.distance(to: noisy.update), accuracy: 1e-9)
    }

    func testDPNoiseStdOverManyEntries() throws {
        let examples = [update([Float](repeating: 0, count: 50_000)), update([Float](repeating: 0, count: 50_000))]
        var rng = SeededGenerator(seed: 3)
        let out = try DefenceSpec(parsing: "dp:clip=4,sigma=0.5").applyDP(perExample: examples, rng: &rng)
        let (_, s) = meanAndStd(out.update.flatValues)
        XCTAssertEqual(s, 0.5 * 4 / 2, accuracy: 0.02)
    }

    func testApplyWithDPTreatsTheUpdateAsOneExample() throws {
        let u = update([30, 40])
        var rng = SeededGenerator(seed: 1)
        let out = try DefenceSpec(parsing: "dp:clip=1,sigma=0").apply(u, rng: &rng)
        XCTAssertEqual(out.update.l2Norm, 1, accuracy: 1e-5)
        XCTAssertTrue(try DefenceSpec(parsing: "dp:clip=1,sigma=1").needsPerExampleGradients)
        XCTAssertFalse(try DefenceSpec(parsing: "laplace:level=100").needsPerExampleGradients)
    }

    func testNonDPApplyDPDefendsTheMean() throws {
        let examples = [update([1, 2, 3, 4]), update([3, 2, 1, 0])]
        var r1 = SeededGenerator(seed: 1), r2 = SeededGenerator(seed: 1)
        let spec = try DefenceSpec(parsing: "gaussian:scale=0.1")
        XCTAssertEqual(spec.applyDP(perExample: examples, rng: &r1).update.flatValues,
                       spec.apply(update([2, 2, 2, 2]), rng: &r2).update.flatValues)
    }
}
