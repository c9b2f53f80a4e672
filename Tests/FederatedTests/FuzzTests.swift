import Federated
import FuzzSupport
import XCTest

/// Seeded mutation fuzzing of the defence-spec parser: every mutated spec parses (and its canonical text
/// parses back to an equal spec) or throws, never crashes.
final class FuzzTests: XCTestCase {
    func testMutatedDefenceSpecsParseOrThrow() {
        let seeds = ["none", "laplace:level=100", "gaussian:sigma=0.01", "prune:p=50", "clip:norm=1", "secagg:clients=4",
                     "dp:clip=1,sigma=0.5,delta=1e-5", "clip:norm=2+gaussian:sigma=0.1+prune:p=90", "quantize:bits=4", "soteria:p=40"]
        var m = Mutator(seed: 7)
        var parsed = 0, refused = 0
        for i in 0..<Mutator.iterations(5000) {
            var text = m.text(seeds[i % seeds.count])
            if m.below(3) == 0 { text = String(decoding: m.bytes(Array(text.utf8)), as: UTF8.self) }
            do {
                let spec = try DefenceSpec(parsing: text)
                XCTAssertEqual(try DefenceSpec(parsing: spec.description), spec, "mutation \(i): '\(text)' -> '\(spec)' does not round-trip")
                parsed += 1
            } catch {
                XCTAssertFalse("\(error)".isEmpty)
                refused += 1
            }
        }
        XCTAssertGreaterThan(refused, 1000)
        XCTAssertGreaterThan(parsed, 100)
    }
}
