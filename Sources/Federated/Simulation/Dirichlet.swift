import Foundation
import Tensor

/// Gamma and Dirichlet draws from a `SeededGenerator` (for label-skewed client splits).
extension SeededGenerator {
    /// Uniform in (0, 1) with 53 random bits (never 0).
    mutating func openUniform() -> Double {
        Swift.max(Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0), 1e-300)
    }

    /// Standard normal in Double precision (Box-Muller).
    mutating func normalDouble() -> Double {
        let u1 = openUniform(), u2 = openUniform()
        return (-2 * Foundation.log(u1)).squareRoot() * Foundation.cos(2 * Double.pi * u2)
    }

    /// Gamma(shape, 1). Marsaglia & Tsang (2000) for shape >= 1; for shape < 1, Gamma(shape + 1) * U^(1/shape).
    public mutating func gamma(shape a: Double) -> Double {
        precondition(a > 0 && a.isFinite, "gamma shape must be positive, got \(a)")
        if a < 1 {
            let g = gamma(shape: a + 1)
            return g * Foundation.pow(openUniform(), 1 / a)
        }
        let d = a - 1.0 / 3, c = 1 / (9 * d).squareRoot()
        while true {
            var x = 0.0, v = 0.0
            repeat {
                x = normalDouble()
                v = 1 + c * x
            } while v <= 0
            v = v * v * v
            let u = openUniform()
            if u < 1 - 0.0331 * x * x * x * x { return d * v }
            if Foundation.log(u) < 0.5 * x * x + d * (1 - v + Foundation.log(v)) { return d * v }
        }
    }

    /// Dirichlet(alpha): independent Gamma(alpha_k, 1) draws, normalised to sum 1.
    public mutating func dirichlet(_ alpha: [Double]) -> [Double] {
        precondition(!alpha.isEmpty, "Dirichlet needs at least one concentration")
        var g = alpha.map { gamma(shape: $0) }
        var total = g.reduce(0, +)
        if total <= 0 {
            // Every draw underflowed (tiny alpha): the mass goes to one component, chosen uniformly.
            g = [Double](repeating: 0, count: alpha.count)
            g[Int(next() % UInt64(alpha.count))] = 1
            total = 1
        }
        return g.map { $0 / total }
    }
}
