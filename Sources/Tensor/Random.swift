import Foundation

/// Seeded pseudo-random generator (xoshiro256**, seeded by SplitMix64). Every random draw in medpfl
/// comes from one of these, created from a seed that the audit log records.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var s: (UInt64, UInt64, UInt64, UInt64)
    public let seed: UInt64

    public init(seed: UInt64) {
        self.seed = seed
        var x = seed
        func splitmix(_ x: inout UInt64) -> UInt64 {
            x &+= 0x9E37_79B9_7F4A_7C15
            var z = x
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        s = (splitmix(&x), splitmix(&x), splitmix(&x), splitmix(&x))
    }

    /// A generator for a named sub-stream (e.g. one trial), so that streams do not overlap.
    public func derived(_ label: String) -> SeededGenerator {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325   // FNV-1a of the label, mixed with the seed
        for b in label.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return SeededGenerator(seed: seed ^ h)
    }

    public mutating func next() -> UInt64 {
        let result = ((s.1 &* 5) << 7 | (s.1 &* 5) >> 57) &* 9
        let t = s.1 << 17
        s.2 ^= s.0; s.3 ^= s.1; s.1 ^= s.2; s.0 ^= s.3
        s.2 ^= t
        s.3 = (s.3 << 45) | (s.3 >> 19)
        return result
    }

    /// Uniform in [0, 1) with 24 random bits.
    public mutating func uniform() -> Float { Float(next() >> 40) * (1.0 / 16_777_216.0) }

    /// Standard normal (Box-Muller).
    public mutating func normal() -> Float {
        var u1 = Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0)
        if u1 < 1e-300 { u1 = 1e-300 }
        let u2 = Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0)
        return Float((-2 * Foundation.log(u1)).squareRoot() * Foundation.cos(2 * Double.pi * u2))
    }

    /// Laplace(0, b).
    public mutating func laplace(scale b: Float) -> Float {
        let u = Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0) - 0.5
        let v = max(1 - 2 * Swift.abs(u), 1e-300)
        return Float(-Double(b) * (u < 0 ? -1 : 1) * Foundation.log(v))
    }
}

extension Tensor {
    public static func uniform(_ shape: [Int], low: Float = 0, high: Float = 1, using rng: inout SeededGenerator) -> Tensor {
        let t = Tensor(uninitializedShape: shape)
        for i in 0..<t.count { t.storage[i] = low + (high - low) * rng.uniform() }
        return t
    }
    public static func randn(_ shape: [Int], using rng: inout SeededGenerator) -> Tensor {
        let t = Tensor(uninitializedShape: shape)
        for i in 0..<t.count { t.storage[i] = rng.normal() }
        return t
    }
}
