import Foundation
import Tensor

// Data movement: reshape, flatten, transpose, concat, slice, gather, expand, pad; and pooling.

/// A fixed target shape (batch included; resolved per batch when the graph is imported from ONNX).
public struct ReshapeOp: GraphOp {
    public let shape: [Int]
    public let label: String
    public init(_ shape: [Int], label: String = "reshape") { self.shape = shape; self.label = label }
    public var kind: String { label }
    public func outputShape(_ s: [[Int]]) throws(GraphShapeError) -> [Int] {
        guard shape.allSatisfy({ $0 >= 0 }), let n = checkedCount(shape), n == checkedCount(s[0]) else { throw GraphShapeError("cannot reshape \(s[0]) to \(shape)") }
        return shape
    }
    public func run(_ i: [Tensor], _ c: inout GraphContext) -> Tensor { i[0].reshaped(shape) }
    public func flops(_ s: [[Int]], _ out: [Int]) -> Double { 0 }
}

/// Flattens the dims from `axis` on (PyTorch's Flatten; ONNX Flatten makes [prefix, rest]).
public struct FlattenOp: GraphOp {
    public let axis: Int
    public init(axis: Int = 1) { self.axis = axis }
    public var kind: String { "flatten" }
    public func outputShape(_ s: [[Int]]) throws(GraphShapeError) -> [Int] {
        guard axis >= 0 && axis <= s[0].count else { throw GraphShapeError("axis \(axis) outside the input") }
        return [s[0].prefix(axis).reduce(1, *), s[0].dropFirst(axis).reduce(1, *)]
    }
    public func run(_ i: [Tensor], _ c: inout GraphContext) -> Tensor {
        i[0].reshaped([i[0].shape.prefix(axis).reduce(1, *), i[0].shape.dropFirst(axis).reduce(1, *)])
    }
    public func flops(_ s: [[Int]], _ out: [Int]) -> Double { 0 }
}

public struct TransposeOp: GraphOp {
    public let perm: [Int]
    public init(_ perm: [Int]) { self.perm = perm }
    public var kind: String { "transpose" }
    public func outputShape(_ s: [[Int]]) throws(GraphShapeError) -> [Int] {
        guard perm.sorted() == Array(0..<s[0].count) else { throw GraphShapeError("permutation \(perm) for a rank-\(s[0].count) input") }
        return perm.map { s[0][$0] }
    }
    public func run(_ i: [Tensor], _ c: inout GraphContext) -> Tensor { i[0].permuted(perm) }
    public func flops(_ s: [[Int]], _ out: [Int]) -> Double { 0 }
}

/// Joins its inputs along `axis` (DenseNet's feature concatenation; a ViT's class token before the patches).
public struct ConcatOp: GraphOp {
    public let axis: Int
    public init(axis: Int) { self.axis = axis }
    public var kind: String { "concat" }
    public func outputShape(_ s: [[Int]]) throws(GraphShapeError) -> [Int] {
        let r = s[0].count, a = axis < 0 ? r + axis : axis
        guard a >= 0 && a < r else { throw GraphShapeError("axis \(axis) outside a rank-\(r) input") }
        var out = s[0]
        out[a] = 0
        for p in s {
            guard p.count == r, (0..<r).allSatisfy({ $0 == a || p[$0] == s[0][$0] }) else { throw GraphShapeError("shapes \(s) differ off axis \(axis)") }
            out[a] += p[a]
        }
        return out
    }
    public func run(_ i: [Tensor], _ c: inout GraphContext) -> Tensor { i.count == 1 ? i[0] : concat(i, axis: axis) }
    public func flops(_ s: [[Int]], _ out: [Int]) -> Double { 0 }
}

/// The sub-block `ranges` (step 1) of the input (ONNX Slice on data).
public struct SliceOp: GraphOp {
    public let ranges: [Range<Int>]
    public init(_ ranges: [Range<Int>]) { self.ranges = ranges }
    public var kind: String { "slice" }
    public func outputShape(_ s: [[Int]]) throws(GraphShapeError) -> [Int] {
        guard ranges.count == s[0].count, zip(ranges, s[0]).allSatisfy({ $0.lowerBound >= 0 && $0.upperBound <= $1 }) else {
            throw GraphShapeError("slice \(ranges) outside \(s[0])")
        }
        return ranges.map(\.count)
    }
    public func run(_ i: [Tensor], _ c: inout GraphContext) -> Tensor { i[0].narrowed(ranges) }
    public func flops(_ s: [[Int]], _ out: [Int]) -> Double { 0 }
}

/// Picks `indices` along `axis` (ONNX Gather on data); a scalar index drops the axis (a ViT reads token 0).
public struct GatherOp: GraphOp {
    public let axis: Int, indices: [Int], scalar: Bool
    public init(axis: Int, indices: [Int], scalar: Bool) { self.axis = axis; self.indices = indices; self.scalar = scalar }
    public var kind: String { "gather" }
    public func outputShape(_ s: [[Int]]) throws(GraphShapeError) -> [Int] {
        let r = s[0].count, a = axis < 0 ? r + axis : axis
        guard a >= 0 && a < r else { throw GraphShapeError("axis \(axis) outside a rank-\(r) input") }
        guard indices.allSatisfy({ $0 >= 0 && $0 < s[0][a] }) else { throw GraphShapeError("indices \(indices) outside 0..<\(s[0][a])") }
        var out = s[0]
        if scalar { out.remove(at: a) } else { out[a] = indices.count }
        return out
    }
    public func run(_ i: [Tensor], _ c: inout GraphContext) -> Tensor {
        let x = i[0], a = axis < 0 ? x.rank + axis : axis
        let parts = indices.map { x.slice(axis: a, $0 ..< $0 + 1) }
        let joined = parts.count == 1 ? parts[0] : concat(parts, axis: a)
        if scalar { var s = x.shape; s.remove(at: a); return joined.reshaped(s) }
        return joined
    }
    public func flops(_ s: [[Int]], _ out: [Int]) -> Double { 0 }
}

/// Broadcasts to `shape` (ONNX Expand: the result is the broadcast of the input's and the given shape).
public struct ExpandOp: GraphOp {
    public let shape: [Int]
    public init(_ shape: [Int]) { self.shape = shape }
    public var kind: String { "expand" }
    public func outputShape(_ s: [[Int]]) throws(GraphShapeError) -> [Int] {
        guard shape.allSatisfy({ $0 >= 0 }), let out = broadcastShape(s[0], shape), checkedCount(out) != nil else { throw GraphShapeError("cannot expand \(s[0]) to \(shape)") }
        return out
    }
    public func run(_ i: [Tensor], _ c: inout GraphContext) -> Tensor { i[0].expand(to: broadcastShape(i[0].shape, shape)!) }
    public func flops(_ s: [[Int]], _ out: [Int]) -> Double { 0 }
}

/// Zero padding, `(before, after)` per dim (an asymmetric convolution or pooling padding).
public struct PadOp: GraphOp {
    public let pads: [(Int, Int)]
    public let value: Float
    public init(_ pads: [(Int, Int)], value: Float = 0) { self.pads = pads; self.value = value }
    public var kind: String { "pad" }
    public func outputShape(_ s: [[Int]]) throws(GraphShapeError) -> [Int] {
        guard pads.count == s[0].count, pads.allSatisfy({ $0.0 >= 0 && $0.1 >= 0 && $0.0 < 1 << 20 && $0.1 < 1 << 20 }) else {
            throw GraphShapeError("pads \(pads) for a rank-\(s[0].count) input (each between 0 and 2^20)")
        }
        return zip(s[0], pads).map { $0 + $1.0 + $1.1 }
    }
    public func run(_ i: [Tensor], _ c: inout GraphContext) -> Tensor { i[0].padded(pads, value: value) }
    public func flops(_ s: [[Int]], _ out: [Int]) -> Double { 0 }
}

public enum PoolKind: String, Sendable { case max = "maxPool", average = "avgPool" }

/// Square max or average pooling over NCHW (floor mode; average counts the padding, PyTorch's default).
public struct Pool2dOp: GraphOp {
    public let pool: PoolKind
    public let kernel: Int, stride: Int, padding: Int
    public init(_ pool: PoolKind, kernel: Int, stride: Int, padding: Int) { self.pool = pool; self.kernel = kernel; self.stride = stride; self.padding = padding }
    public var kind: String { pool.rawValue }
    public func outputShape(_ s: [[Int]]) throws(GraphShapeError) -> [Int] {
        guard s[0].count == 4 else { throw GraphShapeError("needs an N x C x H x W input") }
        guard kernel > 0, stride > 0, padding >= 0 else { throw GraphShapeError("needs kernel and stride >= 1 and padding >= 0") }
        guard padding * 2 <= kernel else { throw GraphShapeError("padding \(padding) is more than half the kernel \(kernel)") }
        let (h, w) = Conv2dGeometry(kernel: kernel, stride: stride, padding: padding).outputSize(s[0][2], s[0][3])
        guard h > 0 && w > 0 else { throw GraphShapeError("window \(kernel)x\(kernel) does not fit a \(s[0][2])x\(s[0][3]) input") }
        return [s[0][0], s[0][1], h, w]
    }
    public func run(_ i: [Tensor], _ c: inout GraphContext) -> Tensor {
        switch pool {
        case .max: return i[0].maxPool2d(kernel: kernel, stride: stride, padding: padding)
        case .average: return i[0].avgPool2d(kernel: kernel, stride: stride, padding: padding)
        }
    }
    public func flops(_ s: [[Int]], _ out: [Int]) -> Double { Double(out.reduce(1, *) * kernel * kernel) }
}

/// PyTorch's AdaptiveAvgPool2d (1x1 is ONNX GlobalAveragePool).
public struct AdaptiveAvgPoolOp: GraphOp {
    public let height: Int, width: Int
    public init(_ h: Int, _ w: Int) { height = h; width = w }
    public var kind: String { "adaptiveAvgPool" }
    public func outputShape(_ s: [[Int]]) throws(GraphShapeError) -> [Int] {
        guard s[0].count == 4, height > 0, width > 0 else { throw GraphShapeError("needs an N x C x H x W input and an output size >= 1") }
        return [s[0][0], s[0][1], height, width]
    }
    public func run(_ i: [Tensor], _ c: inout GraphContext) -> Tensor { i[0].adaptiveAvgPool2d(height, width) }
    public func flops(_ s: [[Int]], _ out: [Int]) -> Double { Double(s[0].reduce(1, *)) }
}

/// The number of values of `shape`, nil when it overflows or exceeds 2^40 (beyond any machine).
func checkedCount(_ shape: [Int]) -> Int? {
    var n = 1
    for d in shape {
        guard d >= 0 else { return nil }
        let (m, o) = n.multipliedReportingOverflow(by: d)
        guard !o, m <= 1 << 40 else { return nil }
        n = m
    }
    return n
}
