import Foundation
import Tensor

/// Simulated secure aggregation with pairwise masks (Bonawitz et al. 2017, without dropouts): the server
/// learns only the sum of the clients' updates.
///
/// Each client encodes its update in fixed point (`fractionalBits` bits after the binary point, as a
/// 64-bit two's-complement integer) and, for every other client j, adds a mask drawn from a generator
/// seeded by the pair's shared seed: client i adds mask(i, j) when i < j and subtracts it when i > j, all
/// modulo 2^64. A single masked update is uniformly random to the server; in the sum every mask appears
/// once with + and once with -, so the masks cancel exactly and the server decodes the sum of the
/// fixed-point encodings. Values are clamped to +-2^`magnitudeBits` before encoding (the only loss
/// besides the 2^-fractionalBits rounding).
public struct SecureAggregation: Sendable {
    /// Number of clients whose updates are summed.
    public let clients: Int
    /// Seed from which every pair's shared mask seed is derived (recorded with the round).
    public let seed: UInt64
    /// Largest magnitude encoded exactly: 2^20.
    public static let magnitudeBits = 20
    /// Bits after the binary point: 63 - magnitudeBits - ceil(log2(clients)), so the sum cannot overflow.
    public let fractionalBits: Int

    public init(clients: Int, seed: UInt64) {
        precondition(clients >= 1, "secure aggregation needs at least one client")
        self.clients = clients
        self.seed = seed
        let headroom = Int(Foundation.log2(Double(clients)).rounded(.up))
        self.fractionalBits = 63 - Self.magnitudeBits - headroom
    }

    /// One client's masked update: 64-bit words, one per entry, in update order.
    public struct Masked: Sendable {
        public let client: Int
        public let words: [UInt64]
    }

    /// The fixed-point encoding of every entry (before masking).
    public func encode(_ update: ModelUpdate) -> [UInt64] {
        let scale = Double(sign: .plus, exponent: fractionalBits, significand: 1)
        let limit = Double(sign: .plus, exponent: Self.magnitudeBits, significand: 1)
        return update.flatValues.map { v in
            let c = Swift.min(Swift.max(Double(v), -limit), limit)
            return UInt64(bitPattern: Int64((c * scale).rounded()))
        }
    }

    /// The generator of the mask client `i` and client `j` share (i != j; symmetric).
    func pairGenerator(_ i: Int, _ j: Int) -> SeededGenerator {
        SeededGenerator(seed: seed).derived("secagg-pair-\(Swift.min(i, j))-\(Swift.max(i, j))")
    }

    /// Client `client`'s update, encoded and masked with its pairwise masks.
    public func mask(_ update: ModelUpdate, client: Int) -> Masked {
        precondition((0..<clients).contains(client), "client \(client) outside 0..<\(clients)")
        var words = encode(update)
        for other in 0..<clients where other != client {
            var g = pairGenerator(client, other)
            let add = client < other
            for k in words.indices {
                let m = g.next()
                words[k] = add ? words[k] &+ m : words[k] &- m
            }
        }
        return Masked(client: client, words: words)
    }

    /// The server's view: the sum of every client's masked update (masks cancel), decoded into an update
    /// with the layout of `like`. Needs exactly one masked update from each client.
    public func unmaskedSum(_ masked: [Masked], like: ModelUpdate) -> ModelUpdate {
        precondition(masked.count == clients && Set(masked.map(\.client)) == Set(0..<clients),
                     "secure aggregation needs one masked update from each of \(clients) clients")
        var sum = [UInt64](repeating: 0, count: like.scalarCount)
        for m in masked {
            precondition(m.words.count == sum.count, "masked update has \(m.words.count) entries, expected \(sum.count)")
            for k in sum.indices { sum[k] = sum[k] &+ m.words[k] }
        }
        return decode(sum, like: like)
    }

    /// Decodes fixed-point words into an update with the layout of `like`.
    public func decode(_ words: [UInt64], like: ModelUpdate) -> ModelUpdate {
        let inv = Double(sign: .plus, exponent: -fractionalBits, significand: 1)
        var offset = 0
        return like.map { _, t in
            let out = Tensor(shape: t.shape, data: (0..<t.count).map { Float(Double(Int64(bitPattern: words[offset + $0])) * inv) })
            offset += t.count
            return out
        }
    }

    /// Masks every client's update, sums the masked updates as the server does, and checks the result
    /// against the plain sum.
    public func aggregate(_ updates: [ModelUpdate]) -> (sum: ModelUpdate, check: SecureAggregationCheck) {
        precondition(updates.count == clients, "\(updates.count) updates for \(clients) clients")
        let masked = updates.enumerated().map { mask($1, client: $0) }
        let sum = unmaskedSum(masked, like: updates[0])
        let plain = ModelUpdate.sum(updates)
        var maxError = 0.0
        for (a, b) in zip(sum.flatValues, plain.flatValues) { maxError = Swift.max(maxError, Double(Swift.abs(a - b))) }
        // How much of client 0's update survives masking: the correlation of its masked words (decoded)
        // with its plain values (about 0: the server learns nothing from one masked update).
        let seen = decode(masked[0].words, like: updates[0]).flatValues, own = updates[0].flatValues
        let check = SecureAggregationCheck(clients: clients, seed: seed, fractionalBits: fractionalBits,
                                           maxAbsErrorOfSum: maxError,
                                           maskedCorrelation: Self.correlation(seen, own))
        return (sum, check)
    }

    /// Pearson correlation of two equal-length vectors (0 when either is constant).
    static func correlation(_ a: [Float], _ b: [Float]) -> Double {
        let n = Double(a.count)
        guard n > 1 else { return 0 }
        let ma = a.reduce(0.0) { $0 + Double($1) } / n, mb = b.reduce(0.0) { $0 + Double($1) } / n
        var sab = 0.0, saa = 0.0, sbb = 0.0
        for (x, y) in zip(a, b) {
            let dx = Double(x) - ma, dy = Double(y) - mb
            sab += dx * dy; saa += dx * dx; sbb += dy * dy
        }
        return saa > 0 && sbb > 0 ? sab / (saa * sbb).squareRoot() : 0
    }
}

/// Evidence that a simulated secure aggregation did what it claims.
public struct SecureAggregationCheck: Sendable, Codable, Equatable {
    public var clients: Int
    public var seed: UInt64
    public var fractionalBits: Int
    /// Largest |masked-and-unmasked sum - plain float sum| over all entries (fixed-point rounding only).
    public var maxAbsErrorOfSum: Double
    /// Correlation between one client's masked update (as the server sees it) and its plain update.
    public var maskedCorrelation: Double
}
