import Foundation
import NN
import Tensor

/// The client-side check against a malicious server's imprint block (Fowl et al. 2022): before training on a
/// received model, look for a layer whose rows all measure one direction of its input (every row a multiple
/// of one vector), the signature of an imprint block; monotone biases along those rows (thresholds at a
/// statistic's quantiles) confirm it. A trained or randomly initialised layer never has all its rows
/// collinear. What a site can deploy against this threat (`medpfl check-model`).
public enum ImprintCheck {
    /// One weight tensor's verdict.
    public struct Finding: Sendable, Codable, Equatable {
        public let tensor: String
        public let rows: Int
        /// Rows whose |cosine| with the largest row is at least `collinearCosine` (zero rows excluded).
        public let collinearRows: Int
        /// Whether the layer's bias (`*.bias` beside `*.weight`) is monotone along the rows; nil without one.
        public let monotoneBias: Bool?
        /// The tensor has the imprint structure.
        public let flagged: Bool
    }

    /// |cosine| at or above which two rows count as multiples of one vector.
    public static let collinearCosine = 0.9999
    /// Fewest rows a layer needs before it is judged (two collinear rows can happen by design).
    public static let minimumRows = 4

    /// Every 2-D (linear) and 4-D (conv, read as out x in*k*k) weight of the model, judged.
    public static func check(_ model: Model, state: ModelState) -> [Finding] {
        var out: [Finding] = []
        for (i, spec) in model.parameters.enumerated() where spec.shape.count == 2 || spec.shape.count == 4 {
            let rows = spec.shape[0], cols = spec.shape.dropFirst().reduce(1, *)
            guard rows >= minimumRows, cols >= 2 else { continue }
            let w = state.parameters[i].scalars
            func norm(_ r: Int) -> Double { (0..<cols).reduce(0.0) { $0 + Double(w[r * cols + $1]) * Double(w[r * cols + $1]) }.squareRoot() }
            let norms = (0..<rows).map(norm)
            guard let top = norms.indices.max(by: { norms[$0] < norms[$1] }), norms[top] > 0 else { continue }
            var collinear = 0
            for r in 0..<rows where norms[r] > 1e-12 * norms[top] {
                var d = 0.0
                for j in 0..<cols { d += Double(w[r * cols + j]) * Double(w[top * cols + j]) }
                if Swift.abs(d) / (norms[r] * norms[top]) >= collinearCosine { collinear += 1 }
            }
            var monotone: Bool? = nil
            if spec.name.hasSuffix("weight") {
                let biasName = String(spec.name.dropLast("weight".count)) + "bias"
                if let bi = model.parameters.firstIndex(where: { $0.name == biasName && $0.shape == [rows] }) {
                    let b = state.parameters[bi].scalars
                    let up = zip(b, b.dropFirst()).allSatisfy { $0 <= $1 }, down = zip(b, b.dropFirst()).allSatisfy { $0 >= $1 }
                    let distinct = Set(b).count > 1
                    monotone = distinct && (up || down)
                }
            }
            let flagged = collinear >= Swift.max(minimumRows, Int((0.9 * Double(rows)).rounded(.up)))
            out.append(Finding(tensor: spec.name, rows: rows, collinearRows: collinear, monotoneBias: monotone, flagged: flagged))
        }
        return out
    }
}
