import Foundation
import Tensor

/// What a federated-learning client sends to the server: an ordered list of named Float tensors.
///
/// Names are PyTorch `state_dict()` parameter names (`conv1.weight`, `fc.bias`, ...) in
/// `named_parameters()` order. The values are either the gradient of the local loss (FedSGD) or the
/// difference between the local and the global weights (FedAvg). Tensors are shared by reference and are
/// never modified in place by anything in this module: every defence writes new tensors.
public struct ModelUpdate: Sendable {
    /// Parameter names, one per tensor, in order.
    public var names: [String]
    /// The values, aligned with `names`.
    public var tensors: [Tensor]

    /// An update from aligned names and tensors (the two arrays must have the same length).
    public init(names: [String], tensors: [Tensor]) {
        precondition(names.count == tensors.count,
                     "ModelUpdate: \(names.count) names for \(tensors.count) tensors")
        self.names = names
        self.tensors = tensors
    }

    /// An update from `(name, value)` pairs, as a state dict lists them.
    public init(_ pairs: [(name: String, value: Tensor)]) {
        self.init(names: pairs.map(\.name), tensors: pairs.map(\.value))
    }

    /// The `(name, value)` pairs in order.
    public var pairs: [(name: String, value: Tensor)] {
        zip(names, tensors).map { (name: $0, value: $1) }
    }

    /// Number of tensors.
    public var tensorCount: Int { tensors.count }

    /// Total number of scalar entries over all tensors.
    public var scalarCount: Int { tensors.reduce(0) { $0 + $1.count } }

    /// The tensor called `name`, if any.
    public subscript(name: String) -> Tensor? {
        names.firstIndex(of: name).map { tensors[$0] }
    }

    /// Sum of squares of every entry, accumulated in Double.
    public var squaredNorm: Double { tensors.reduce(0) { $0 + Self.squaredNorm(of: $1) } }

    /// Global L2 norm over all tensors together (the norm DP-SGD clips).
    public var l2Norm: Double { squaredNorm.squareRoot() }

    /// Every entry of every tensor, concatenated in order (row-major within each tensor).
    public var flatValues: [Float] {
        var out = [Float]()
        out.reserveCapacity(scalarCount)
        for t in tensors { t.withUnsafeBufferPointer { out.append(contentsOf: $0) } }
        return out
    }

    /// True when both updates have the same names and tensor shapes in the same order.
    public func hasSameLayout(as other: ModelUpdate) -> Bool {
        names == other.names && zip(tensors, other.tensors).allSatisfy { $0.shape == $1.shape }
    }

    /// A new update with every tensor replaced by `transform(name, tensor)`; the result must keep the shape.
    public func map(_ transform: (String, Tensor) throws -> Tensor) rethrows -> ModelUpdate {
        var out = [Tensor]()
        out.reserveCapacity(tensors.count)
        for (name, t) in zip(names, tensors) {
            let r = try transform(name, t)
            precondition(r.shape == t.shape, "ModelUpdate.map changed the shape of \(name)")
            out.append(r)
        }
        return ModelUpdate(names: names, tensors: out)
    }

    /// A new update whose tensors are fresh copies with each entry replaced by `transform(value)`.
    public func mapValues(_ transform: (Float) -> Float) -> ModelUpdate {
        map { _, t in
            let r = t.detached()
            r.withUnsafeMutableBufferPointer { p in
                for i in 0..<p.count { p[i] = transform(p[i]) }
            }
            return r
        }
    }

    /// Every entry multiplied by `factor` (new tensors).
    public func scaled(by factor: Float) -> ModelUpdate {
        map { _, t in
            let r = t.detached()
            r.withUnsafeMutableBufferPointer { p in
                for i in 0..<p.count { p[i] *= factor }
            }
            return r
        }
    }

    /// An update of zeros with the same names and shapes.
    public static func zeros(like other: ModelUpdate) -> ModelUpdate {
        ModelUpdate(names: other.names, tensors: other.tensors.map { Tensor.zeros($0.shape) })
    }

    /// Entry-wise sum of updates with identical layouts (accumulated in Float, in order).
    public static func sum(_ updates: [ModelUpdate]) -> ModelUpdate {
        precondition(!updates.isEmpty, "ModelUpdate.sum of no updates")
        let acc = zeros(like: updates[0])
        for u in updates {
            precondition(u.hasSameLayout(as: acc), "ModelUpdate.sum: layouts differ")
            for (a, t) in zip(acc.tensors, u.tensors) {
                a.withUnsafeMutableBufferPointer { dst in
                    t.withUnsafeBufferPointer { src in
                        for i in 0..<dst.count { dst[i] += src[i] }
                    }
                }
            }
        }
        return acc
    }

    /// Entry-wise mean of updates with identical layouts.
    public static func mean(_ updates: [ModelUpdate]) -> ModelUpdate {
        sum(updates).scaled(by: 1 / Float(updates.count))
    }

    /// This update scaled so that its global L2 norm is at most `maxNorm`, the way Opacus clips a
    /// per-sample gradient: factor = min(1, maxNorm / (norm + 1e-6)). Returns the clipped update and the factor.
    public func clipped(toNorm maxNorm: Double) -> (update: ModelUpdate, factor: Double) {
        let factor = Swift.min(1, maxNorm / (l2Norm + 1e-6))
        if factor >= 1 { return (self, 1) }
        return (scaled(by: Float(factor)), factor)
    }

    /// L2 norm of `self - other` over all entries (same layout required), accumulated in Double.
    public func distance(to other: ModelUpdate) -> Double {
        precondition(hasSameLayout(as: other), "ModelUpdate.distance: layouts differ")
        var s = 0.0
        for (a, b) in zip(tensors, other.tensors) { s += Self.squaredDistance(a, b) }
        return s.squareRoot()
    }

    /// Sum of squares of one tensor's entries, in Double.
    static func squaredNorm(of t: Tensor) -> Double {
        t.withUnsafeBufferPointer { p in
            var s = 0.0
            for i in 0..<p.count { let v = Double(p[i]); s += v * v }
            return s
        }
    }

    /// Sum of squared differences of two same-shaped tensors, in Double.
    static func squaredDistance(_ a: Tensor, _ b: Tensor) -> Double {
        a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                var s = 0.0
                for i in 0..<pa.count { let d = Double(pa[i]) - Double(pb[i]); s += d * d }
                return s
            }
        }
    }
}
