import Foundation
import XCTest
import Tensor
@testable import Federated

/// A seeded random update with a few tensors of mixed shapes.
func randomUpdate(seed: UInt64, shapes: [[Int]] = [[8, 3, 5, 5], [8], [10, 32], [10]], scale: Float = 0.1) -> ModelUpdate {
    var rng = SeededGenerator(seed: seed)
    let names = ["conv.weight", "conv.bias", "fc.weight", "fc.bias"]
    return ModelUpdate(names: Array(names.prefix(shapes.count)),
                       tensors: shapes.map { Tensor.randn($0, using: &rng) * scale })
}

/// A single-tensor update with the given values.
func update(_ values: [Float], name: String = "w") -> ModelUpdate {
    ModelUpdate(names: [name], tensors: [Tensor(shape: [values.count], data: values)])
}

/// NumPy's linear percentile, by a full sort (reference for the selection-based one).
func referencePercentile(_ values: [Float], _ p: Double) -> Double {
    let s = values.map { Double(abs($0)) }.sorted()
    let pos = p / 100 * Double(s.count - 1)
    let lo = Int(pos.rounded(.down)), hi = min(lo + 1, s.count - 1)
    return s[lo] + (s[hi] - s[lo]) * (pos - Double(lo))
}

/// Mean and standard deviation (population) in Double.
func meanAndStd(_ xs: [Float]) -> (Double, Double) {
    let n = Double(xs.count)
    let m = xs.reduce(0.0) { $0 + Double($1) } / n
    let v = xs.reduce(0.0) { $0 + (Double($1) - m) * (Double($1) - m) } / n
    return (m, v.squareRoot())
}

/// Entry-wise defended - original over all tensors.
func difference(_ a: ModelUpdate, _ b: ModelUpdate) -> [Float] {
    zip(a.flatValues, b.flatValues).map { $0 - $1 }
}
