import Foundation
import XCTest
import Tensor
@testable import Federated

final class NoiseAndEffectTests: XCTestCase {
    func testLaplaceStdIsSqrt2TimesB() throws {
        let u = update([Float](repeating: 0.5, count: 100_000))
        var rng = SeededGenerator(seed: 7)
        let out = try DefenceSpec(parsing: "laplace:scale=0.01").apply(u, rng: &rng)
        let (m, s) = meanAndStd(difference(out.update, u))
        XCTAssertEqual(m, 0, accuracy: 3e-4)
        XCTAssertEqual(s, 2.0.squareRoot() * 0.01, accuracy: 0.02 * 2.0.squareRoot() * 0.01)
        XCTAssertEqual(out.effect.noiseStd!, 2.0.squareRoot() * 0.01, accuracy: 1e-12)
        XCTAssertEqual(out.effect.fractionChanged, 1)
        XCTAssertNil(out.effect.epsilon)
        XCTAssertEqual(out.effect.label, "Laplace b=0.01")
    }

    func testLaplaceLevelIsInverseScale() throws {
        let u = randomUpdate(seed: 1)
        for (level, b) in [(100.0, 0.01), (200, 0.005), (400, 0.0025)] {
            var r1 = SeededGenerator(seed: 3), r2 = SeededGenerator(seed: 3)
            let byLevel = try DefenceSpec(parsing: "laplace:level=\(Int(level))").apply(u, rng: &r1)
            let byScale = try DefenceSpec(parsing: "laplace:scale=\(b)").apply(u, rng: &r2)
            XCTAssertEqual(byLevel.update.flatValues, byScale.update.flatValues)
            XCTAssertEqual(byLevel.effect.label, "Laplace b=\(b) (level \(Int(level)))")
        }
        // Higher level, less noise.
        var r = SeededGenerator(seed: 5)
        let snr100 = try DefenceSpec(parsing: "laplace:level=100").apply(u, rng: &r).effect.snr
        let snr400 = try DefenceSpec(parsing: "laplace:level=400").apply(u, rng: &r).effect.snr
        XCTAssertGreaterThan(snr400, snr100)
    }

    func testGaussianRelativeUsesThe95thPercentile() throws {
        var g = SeededGenerator(seed: 11)
        let u = ModelUpdate(names: ["a", "b"], tensors: [Tensor.randn([60_000], using: &g) * 0.2,
                                                         Tensor.uniform([40_000], low: -1, high: 1, using: &g)])
        let p95 = referencePercentile(u.flatValues, 95)
        XCTAssertEqual(Percentile.ofMagnitudes(u, percent: 95), p95, accuracy: p95 * 1e-6)
        var rng = SeededGenerator(seed: 12)
        let out = try DefenceSpec(parsing: "gaussian:relative=0.5").apply(u, rng: &rng)
        XCTAssertEqual(out.effect.noiseStd!, 0.5 * p95, accuracy: 0.5 * p95 * 1e-6)
        let (m, s) = meanAndStd(difference(out.update, u))
        XCTAssertEqual(m, 0, accuracy: 0.01 * p95)
        XCTAssertEqual(s, 0.5 * p95, accuracy: 0.015 * 0.5 * p95)
        XCTAssertTrue(out.effect.label.hasPrefix("Gaussian sigma=0.5 x p95|u| = "), out.effect.label)
    }

    func testGaussianAbsoluteStd() throws {
        let u = update([Float](repeating: 0, count: 100_000))
        var rng = SeededGenerator(seed: 2)
        let out = try DefenceSpec(parsing: "gaussian:scale=0.01").apply(u, rng: &rng)
        let (_, s) = meanAndStd(out.update.flatValues)
        XCTAssertEqual(s, 0.01, accuracy: 0.0002)
        XCTAssertEqual(out.effect.snr, 0)        // u = 0, noise is not
    }

    func testPercentileMatchesSortReference() {
        var g = SeededGenerator(seed: 4)
        for n in [1, 2, 3, 10, 101, 1000] {
            var vals = Tensor.randn([n], using: &g).scalars
            if n > 3 { vals[1] = vals[0]; vals[2] = -vals[0] }      // ties
            for p in [0.0, 1, 37.5, 50, 90, 95, 99.9, 100] {
                let ours = vals.withUnsafeBufferPointer { Percentile.ofMagnitudes($0, percent: p) }
                XCTAssertEqual(ours, referencePercentile(vals, p), accuracy: 1e-7, "n=\(n) p=\(p)")
            }
        }
        let constant = [Float](repeating: -2, count: 50)
        XCTAssertEqual(constant.withUnsafeBufferPointer { Percentile.ofMagnitudes($0, percent: 90) }, 2)
    }

    /// The SNR and changed-fraction arithmetic on a hand-made example.
    func testEffectOnHandMadeExample() {
        let original = ModelUpdate(names: ["a", "b"], tensors: [Tensor(shape: [2], data: [3, 4]),
                                                               Tensor(shape: [1], data: [1])])
        let defended = ModelUpdate(names: ["a", "b"], tensors: [Tensor(shape: [2], data: [3, 0]),
                                                               Tensor(shape: [1], data: [1])])
        let e = DefenceEffect.measure(original: original, defended: defended, label: "hand")
        XCTAssertEqual(e.snr, 26.0.squareRoot() / 4, accuracy: 1e-12)
        XCTAssertEqual(e.perTensorSNR, [.init(name: "a", snr: 5.0 / 4), .init(name: "b", snr: .infinity)])
        XCTAssertEqual(e.fractionChanged, 1.0 / 3, accuracy: 1e-12)
        XCTAssertEqual(original.l2Norm, 26.0.squareRoot(), accuracy: 1e-12)
        XCTAssertEqual(original.distance(to: defended), 4, accuracy: 1e-12)
        XCTAssertEqual(original.scalarCount, 3)
        XCTAssertEqual(original.flatValues, [3, 4, 1])
        let same = DefenceEffect.measure(original: original, defended: original, label: "same")
        XCTAssertEqual(same.snr, .infinity)
        XCTAssertEqual(same.fractionChanged, 0)
    }

    func testNoneLeavesTheUpdateAlone() throws {
        let u = randomUpdate(seed: 9)
        var rng = SeededGenerator(seed: 1)
        let out = DefenceSpec.none.apply(u, rng: &rng)
        XCTAssertTrue(out.update.tensors.elementsEqual(u.tensors, by: ===))
        XCTAssertEqual(out.effect.snr, .infinity)
        XCTAssertEqual(out.effect.label, "no defence")
        var fresh = SeededGenerator(seed: 1)
        XCTAssertEqual(rng.next(), fresh.next())   // no draws
        let sec = try DefenceSpec(parsing: "secagg:clients=4").apply(u, rng: &rng)
        XCTAssertEqual(sec.update.flatValues, u.flatValues)
        XCTAssertEqual(sec.effect.label, "secure aggregation over 4 clients")
    }

    func testSameSeedSameResultAndInputsUntouched() throws {
        let u = randomUpdate(seed: 21)
        let before = u.flatValues
        for text in ["laplace:level=100", "gaussian:relative=0.5", "quantize:bits=3+laplace:scale=0.001",
                     "dp:clip=1,sigma=0.5+prune:p=50", "clip:norm=0.5+quantize:sign"] {
            let spec = try DefenceSpec(parsing: text)
            var r1 = SeededGenerator(seed: 99), r2 = SeededGenerator(seed: 99), r3 = SeededGenerator(seed: 100)
            let a = spec.apply(u, rng: &r1), b = spec.apply(u, rng: &r2), c = spec.apply(u, rng: &r3)
            XCTAssertEqual(a.update.flatValues, b.update.flatValues, text)
            XCTAssertEqual(a.effect, b.effect, text)
            if text != "clip:norm=0.5+quantize:sign" {
                XCTAssertNotEqual(a.update.flatValues, c.update.flatValues, text)
            }
            XCTAssertEqual(u.flatValues, before, "input changed by \(text)")
            XCTAssertEqual(a.update.names, u.names)
            XCTAssertTrue(a.update.hasSameLayout(as: u))
        }
    }

    func testEffectIsCodable() throws {
        let u = randomUpdate(seed: 3)
        var rng = SeededGenerator(seed: 3)
        let e = try DefenceSpec(parsing: "dp:clip=1,sigma=1+prune:p=50").apply(u, rng: &rng).effect
        let enc = JSONEncoder()
        enc.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        let dec = JSONDecoder()
        dec.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        XCTAssertEqual(try dec.decode(DefenceEffect.self, from: enc.encode(e)), e)
    }
}
