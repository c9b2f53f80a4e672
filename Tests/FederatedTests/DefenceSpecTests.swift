import Foundation
import XCTest
@testable import Federated

final class DefenceSpecTests: XCTestCase {
    func testParsesEveryKind() throws {
        XCTAssertEqual(try DefenceSpec(parsing: "none"), .none)
        XCTAssertEqual(try DefenceSpec(parsing: "laplace:level=100").noise,
                       NoiseSpec(distribution: .laplace, scale: .level(100)))
        XCTAssertEqual(try DefenceSpec(parsing: "laplace:scale=0.01").noise,
                       NoiseSpec(distribution: .laplace, scale: .absolute(0.01)))
        XCTAssertEqual(try DefenceSpec(parsing: "gaussian:scale=0.01").noise,
                       NoiseSpec(distribution: .gaussian, scale: .absolute(0.01)))
        XCTAssertEqual(try DefenceSpec(parsing: "gaussian:relative=0.5").noise,
                       NoiseSpec(distribution: .gaussian, scale: .relative(0.5)))
        XCTAssertEqual(try DefenceSpec(parsing: "clip:norm=4").clipNorm, 4)
        XCTAssertEqual(try DefenceSpec(parsing: "prune:p=90").prunePercent, 90)
        XCTAssertEqual(try DefenceSpec(parsing: "quantize:bits=4").quantization, .stochastic(bits: 4))
        XCTAssertEqual(try DefenceSpec(parsing: "quantize:sign").quantization, .sign)
        XCTAssertEqual(try DefenceSpec(parsing: "secagg:clients=8").secureAggregationClients, 8)

        let dp = try XCTUnwrap(try DefenceSpec(parsing: "dp:clip=4,sigma=0.5").dp)
        XCTAssertEqual(dp.clipNorm, 4)
        XCTAssertEqual(dp.noiseMultiplier, 0.5)
        XCTAssertEqual(dp.delta, 1e-5)
        XCTAssertEqual(dp.sampleRate, 1)
        XCTAssertEqual(dp.steps, 1)
        XCTAssertEqual(dp.epsilon, 10.725509696418232, accuracy: 1e-9)   // golden: sigma 0.5, q 1, 1 step

        let full = try XCTUnwrap(try DefenceSpec(parsing: "dp:clip=1,sigma=0.8,delta=1e-5,sample-rate=0.01,steps=100").dp)
        XCTAssertEqual(full.epsilon, 2.185316245509876, accuracy: 2.185316245509876 * 1e-3)
    }

    func testCombinationsAndFixedOrder() throws {
        let s = try DefenceSpec(parsing: "prune:p=90 + dp:clip=4,sigma=0.5")
        XCTAssertEqual(s.prunePercent, 90)
        XCTAssertEqual(s.dp?.clipNorm, 4)
        XCTAssertEqual(s.description, "dp:clip=4,sigma=0.5+prune:p=90")
        let all = try DefenceSpec(parsing: "secagg:clients=8+laplace:level=200+quantize:bits=4+prune:p=50+clip:norm=2")
        XCTAssertEqual(all.description, "clip:norm=2+prune:p=50+quantize:bits=4+laplace:level=200+secagg:clients=8")
        XCTAssertEqual(all.label, "clip L2<=2 (not DP) + prune 50% smallest |u| per tensor + "
                       + "4-bit stochastic quantisation per tensor + Laplace b=0.005 (level 200) + "
                       + "secure aggregation over 8 clients")
        // '+' inside an exponent is part of the number.
        XCTAssertEqual(try DefenceSpec(parsing: "gaussian:scale=1e+1").noise?.fixedScale, 10)
    }

    func testCanonicalRoundTrip() throws {
        let inputs = [
            "none", "laplace:level=100", "laplace:level=300", "laplace:scale=0.01", "laplace:relative=0.25",
            "gaussian:scale=0.01", "gaussian:relative=0.5", "clip:norm=4", "prune:p=90", "prune:p=99.5",
            "quantize:bits=4", "quantize:sign", "secagg:clients=8", "dp:clip=4,sigma=0.5",
            "dp:clip=4,sigma=0.5+prune:p=90", "dp:clip=1.5,sigma=1.1,delta=1e-06,sample-rate=0.01,steps=100",
            "dp:clip=1,epsilon=8", "clip:norm=1+quantize:sign+gaussian:scale=0.001+secagg:clients=3",
        ]
        for text in inputs {
            let spec = try DefenceSpec(parsing: text)
            XCTAssertEqual(spec.description, text, "canonical form of \(text)")
            XCTAssertEqual(try DefenceSpec(parsing: spec.description), spec)
            XCTAssertEqual(DefenceSpec(spec.description), spec)
            let json = try JSONEncoder().encode(spec)
            XCTAssertEqual(try JSONDecoder().decode(DefenceSpec.self, from: json), spec)
            XCTAssertEqual(String(decoding: json, as: UTF8.self), "\"\(text)\"")
        }
        // Defaults are dropped, spacing normalised, numbers shortened.
        XCTAssertEqual(try DefenceSpec(parsing: " dp: clip=4.0, sigma=0.50, delta=1e-5 , steps=1 ").description,
                       "dp:clip=4,sigma=0.5")
        XCTAssertEqual(try DefenceSpec(parsing: "laplace:level=100.0").description, "laplace:level=100")
        XCTAssertThrowsError(try JSONDecoder().decode(DefenceSpec.self, from: Data("\"prune:p=120\"".utf8)))
    }

    func testTargetEpsilonResolvesNoiseMultiplier() throws {
        let dp = try XCTUnwrap(try DefenceSpec(parsing: "dp:clip=1,epsilon=8").dp)
        XCTAssertEqual(dp.requested, .targetEpsilon(8))
        XCTAssertLessThanOrEqual(dp.epsilon, 8)
        XCTAssertGreaterThan(dp.epsilon, 8 - 0.01)
        XCTAssertEqual(dp.noiseMultiplier,
                       try RDPAccountant.noiseMultiplier(targetEpsilon: 8, delta: 1e-5, sampleRate: 1, steps: 1))
    }

    func testLabels() throws {
        XCTAssertEqual(try DefenceSpec(parsing: "laplace:level=100").label, "Laplace b=0.01 (level 100)")
        XCTAssertEqual(try DefenceSpec(parsing: "laplace:level=300").label, "Laplace b=0.00333 (level 300)")
        XCTAssertEqual(try DefenceSpec(parsing: "gaussian:relative=0.5").label, "Gaussian sigma=0.5 x p95|u|")
        XCTAssertEqual(try DefenceSpec(parsing: "clip:norm=4").label, "clip L2<=4 (not DP)")
        XCTAssertEqual(try DefenceSpec(parsing: "none").label, "no defence")
        XCTAssertEqual(try DefenceSpec(parsing: "dp:clip=4,sigma=0.5").label,
                       "DP-SGD C=4 sigma=0.5 (epsilon=10.7 at delta=1e-05, q=1, 1 step)")
    }

    /// Every malformed spec throws one line naming the exact problem and token.
    func testErrorMessages() {
        let cases: [(String, DefenceSpecError.Kind, String)] = [
            ("", .empty, "empty defence spec (write 'none' for no defence)"),
            ("laplace:level=100+", .empty, "empty defence between '+' signs in 'laplace:level=100+'"),
            ("foo:x=1", .unknownDefence,
             "unknown defence 'foo' in 'foo:x=1' (known: none, laplace, gaussian, dp, clip, prune, quantize, secagg)"),
            ("laplace:lvl=100", .unknownParameter,
             "unknown parameter 'lvl' in 'laplace:lvl=100' (laplace takes level, scale or relative)"),
            ("gaussian:level=100", .unknownParameter,
             "unknown parameter 'level' in 'gaussian:level=100' (gaussian takes scale or relative)"),
            ("quantize:bits=4,round", .unknownParameter,
             "unknown parameter 'round' in 'quantize:bits=4,round' (quantize takes bits or sign)"),
            ("none:x=1", .unknownParameter, "'none' takes no parameters, got 'none:x=1'"),
            ("laplace", .missingParameter,
             "missing parameter in 'laplace': laplace needs one of level, scale or relative"),
            ("prune", .missingParameter, "missing parameter 'p=' in 'prune'"),
            ("quantize", .missingParameter, "missing parameter in 'quantize': quantize needs bits=<k> or sign"),
            ("dp:sigma=1", .missingParameter, "missing parameter 'clip=' in 'dp:sigma=1'"),
            ("dp:clip=4", .missingParameter,
             "missing parameter in 'dp:clip=4': dp needs sigma=<noise multiplier> or epsilon=<target>"),
            ("laplace:level=abc", .notANumber, "'abc' is not a number in 'level=abc' of 'laplace:level=abc'"),
            ("laplace:level=inf", .notANumber, "'inf' is not a finite number in 'level=inf' of 'laplace:level=inf'"),
            ("quantize:bits=2.5", .notAnInteger, "'2.5' is not a whole number in 'bits=2.5' of 'quantize:bits=2.5'"),
            ("prune:p=120", .outOfRange, "out of range: 'p=120' in 'prune:p=120' (p must be > 0 and < 100)"),
            ("prune:p=0", .outOfRange, "out of range: 'p=0' in 'prune:p=0' (p must be > 0 and < 100)"),
            ("quantize:bits=0", .outOfRange,
             "out of range: 'bits=0' in 'quantize:bits=0' (bits must be between 1 and 16)"),
            ("laplace:scale=-0.01", .outOfRange,
             "out of range: 'scale=-0.01' in 'laplace:scale=-0.01' (scale must be > 0)"),
            ("gaussian:relative=0", .outOfRange,
             "out of range: 'relative=0' in 'gaussian:relative=0' (relative must be > 0)"),
            ("secagg:clients=1", .outOfRange, "out of range: 'clients=1' in 'secagg:clients=1' (clients must be >= 2)"),
            ("dp:clip=4,sigma=1,delta=2", .outOfRange,
             "out of range: 'delta=2' in 'dp:clip=4,sigma=1,delta=2' (delta must be > 0 and < 1)"),
            ("laplace:level=100,scale=0.01", .conflictingParameters,
             "laplace takes only one of level, scale or relative: got level and scale in 'laplace:level=100,scale=0.01'"),
            ("quantize:bits=4,sign", .conflictingParameters,
             "quantize takes only one of bits=<k> or sign: got both in 'quantize:bits=4,sign'"),
            ("dp:clip=4,sigma=1,epsilon=3", .conflictingParameters,
             "dp takes only one of sigma or epsilon: got both in 'dp:clip=4,sigma=1,epsilon=3'"),
            ("prune:p=1,p=2", .duplicateParameter, "parameter 'p' given twice in 'prune:p=1,p=2'"),
            ("laplace:level", .malformedParameter, "expected level=<number>, got 'level' in 'laplace:level'"),
            ("laplace:level=", .malformedParameter, "missing value for 'level' in 'laplace:level='"),
            ("prune:p=1,", .malformedParameter, "empty parameter in 'prune:p=1,'"),
            ("prune:p=1+prune:p=2", .duplicateDefence, "defence 'prune' given twice: 'prune:p=1' and 'prune:p=2'"),
            ("none+prune:p=10", .conflictingDefences, "'none' cannot be combined with other defences in 'none+prune:p=10'"),
            ("dp:clip=4,sigma=1+laplace:level=100", .conflictingDefences,
             "dp already adds Gaussian noise: cannot combine 'dp:clip=4,sigma=1' with 'laplace:level=100'"),
            ("clip:norm=2+dp:clip=4,sigma=1", .conflictingDefences,
             "dp already clips each example: cannot combine 'dp:clip=4,sigma=1' with 'clip:norm=2'"),
            ("laplace:scale=0.1+gaussian:scale=0.1", .conflictingDefences,
             "only one noise defence is allowed: got 'laplace:scale=0.1' and 'gaussian:scale=0.1'"),
            ("dp:clip=1,epsilon=0.01", .budgetTooLow,
             "cannot reach the privacy target of 'dp:clip=1,epsilon=0.01': privacy budget too low: no noise "
                + "multiplier up to 1e6 reaches epsilon=0.01 at delta=1e-05, sample rate 1.0, 1 steps"),
        ]
        for (text, kind, message) in cases {
            XCTAssertThrowsError(try DefenceSpec(parsing: text), "spec '\(text)'") { error in
                guard let e = error as? DefenceSpecError else { return XCTFail("\(error) is not a DefenceSpecError") }
                XCTAssertEqual(e.kind, kind, "kind for '\(text)'")
                XCTAssertEqual(e.description, message, "message for '\(text)'")
                XCTAssertFalse(e.description.contains("\n"))
            }
            XCTAssertNil(DefenceSpec(text))
        }
    }
}
