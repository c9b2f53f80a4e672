import Foundation
import NN
import Tensor
import XCTest

/// `medpfl check-model` as a site runs it on a model file it received: exit 1 naming the layer when a layer has the
/// imprint structure (Fowl et al. 2022: rows that all measure one statistic, biases at its quantiles), exit 0 on the
/// same architecture with ordinary weights, exit 2 for weights that do not fit.
extension CLITests {
    func testCheckModelFlagsAReceivedModelWithAnImprintLayer() throws {
        let yaml = tmp.appendingPathComponent("received.yaml").path
        try """
        name: received
        input: [3, 32, 32]
        classes: 6
        layers:
          - flatten
          - linear: {in: 3072, out: 64, bias: true}
          - relu
          - linear: {in: 64, out: 6, bias: true}
        """.write(toFile: yaml, atomically: true, encoding: .utf8)
        // The served block: every row of 1.weight measures the image's mean brightness (a multiple of one vector),
        // its biases step through that statistic's quantiles; the head is ordinary.
        var rng = SeededGenerator(seed: 3)
        let v = (0..<3072).map { _ in Float(1.0 / 3072) }
        let rows = (0..<64).flatMap { i in v.map { $0 * Float(1 + (i % 3)) } }
        let bias = (0..<64).map { i in -Float(i) / 64 }
        let head = (0..<(6 * 64)).map { _ in rng.normal() * 0.1 }
        let imprinted = tmp.appendingPathComponent("imprinted.safetensors").path
        try Safetensors.write([("1.weight", Tensor(shape: [64, 3072], data: rows)), ("1.bias", Tensor(shape: [64], data: bias)),
                               ("3.weight", Tensor(shape: [6, 64], data: head)), ("3.bias", Tensor(shape: [6], data: [Float](repeating: 0, count: 6)))],
                              to: imprinted)
        let bad = try run(["check-model", "--model-file", yaml, "--weights", imprinted])
        XCTAssertEqual(bad.code, 1, bad.err)
        XCTAssertTrue(bad.out.contains("IMPRINT STRUCTURE: 1.weight: 64 of 64 rows are multiples of one vector, biases monotone"), bad.out)
        XCTAssertTrue(bad.out.contains("do not train on this model"), bad.out)
        XCTAssertFalse(bad.out.contains("3.weight"), "the ordinary head is not flagged")
        let json = try run(["check-model", "--model-file", yaml, "--weights", imprinted, "--json"])
        XCTAssertEqual(json.code, 1)
        let j = try JSONSerialization.jsonObject(with: Data(json.out.utf8)) as! [String: Any]
        XCTAssertEqual(j["imprintStructure"] as? Bool, true)
        XCTAssertEqual(j["tensorsChecked"] as? Int, 2)
        // The same architecture with its seeded (ordinary) weights passes.
        let ok = try run(["check-model", "--model-file", yaml])
        XCTAssertEqual(ok.code, 0, ok.err)
        XCTAssertTrue(ok.out.contains("no imprint structure in 2 linear/convolution weights"), ok.out)
        // Weights of another shape: bad input, one line.
        let wrong = tmp.appendingPathComponent("wrong.safetensors").path
        try Safetensors.write([("1.weight", Tensor(shape: [64, 100], data: [Float](repeating: 0, count: 6400)))], to: wrong)
        try assertRefused(["check-model", "--model-file", yaml, "--weights", wrong], "1.weight")
    }
}
