import Foundation
import Tensor

// The parametric layers: convolution, fully connected, batch norm, layer norm.

/// PyTorch's Conv2d (ONNX Conv): inputs x [N,C,H,W], weight [O,C/groups,kh,kw], optional bias [O].
public struct Conv2dOp: GraphOp {
    public let stride: Int, padding: Int, dilation: Int, groups: Int
    public init(stride: Int = 1, padding: Int = 0, dilation: Int = 1, groups: Int = 1) {
        self.stride = stride; self.padding = padding; self.dilation = dilation; self.groups = groups
    }
    public var kind: String { "conv2d" }
    public func outputShape(_ s: [[Int]]) throws(GraphShapeError) -> [Int] {
        let x = s[0], w = s[1]
        guard x.count == 4 else { throw GraphShapeError("needs an N x C x H x W input") }
        guard stride > 0, dilation > 0, padding >= 0, groups >= 1 else {
            throw GraphShapeError("needs stride, dilation and groups >= 1 and padding >= 0 (got \(stride), \(dilation), \(groups), \(padding))")
        }
        guard w.count == 4, w[0] > 0, w[2] > 0, w[3] > 0, w[0] % groups == 0 else { throw GraphShapeError("weight \(w) does not fit \(groups) groups") }
        guard x[1] == w[1] * groups else { throw GraphShapeError("expects \(w[1] * groups) input channels, gets \(x[1])") }
        if s.count > 2 { guard s[2] == [w[0]] else { throw GraphShapeError("bias \(s[2]) for \(w[0]) output channels") } }
        let g = Conv2dGeometry(kh: w[2], kw: w[3], stride: stride, padding: padding, dilation: dilation)
        let (h, wo) = g.outputSize(x[2], x[3])
        guard h > 0 && wo > 0 else { throw GraphShapeError("kernel \(w[2])x\(w[3]) does not fit a \(x[2])x\(x[3]) input") }
        return [x[0], w[0], h, wo]
    }
    public func run(_ i: [Tensor], _ c: inout GraphContext) -> Tensor {
        conv2d(i[0], weight: i[1], bias: i.count > 2 ? i[2] : nil, stride: stride, padding: padding, dilation: dilation, groups: groups)
    }
    public func flops(_ s: [[Int]], _ out: [Int]) -> Double {
        2 * Double(out.reduce(1, *)) * Double(s[1].dropFirst().reduce(1, *))
    }
}

/// y = x W^T + b (PyTorch's Linear; ONNX Gemm with transB = 1). x [N, in] (any leading dims), W [out, in].
public struct LinearOp: GraphOp {
    public init() {}
    public var kind: String { "linear" }
    public func outputShape(_ s: [[Int]]) throws(GraphShapeError) -> [Int] {
        guard s[0].count >= 2, s[1].count == 2 else { throw GraphShapeError("needs an N x features input and an out x in weight") }
        guard s[0].last! == s[1][1] else { throw GraphShapeError("expects \(s[1][1]) input features, gets \(s[0].last!)") }
        if s.count > 2 { guard s[2] == [s[1][0]] else { throw GraphShapeError("bias \(s[2]) for \(s[1][0]) outputs") } }
        return s[0].dropLast() + [s[1][0]]
    }
    public func run(_ i: [Tensor], _ c: inout GraphContext) -> Tensor {
        let x = i[0]
        let flat = x.rank == 2 ? x : x.reshaped([x.count / x.shape.last!, x.shape.last!])
        let y = linear(flat, weight: i[1], bias: i.count > 2 ? i[2] : nil)
        return x.rank == 2 ? y : y.reshaped(x.shape.dropLast() + [i[1].shape[0]])
    }
    public func flops(_ s: [[Int]], _ out: [Int]) -> Double { 2 * Double(out.reduce(1, *)) * Double(s[1][1]) }
}

/// Batch norm over axis 1 (PyTorch's BatchNorm1d/2d; ONNX BatchNormalization). Inputs: x, then weight and
/// bias when affine, then running mean and variance (buffers). Train mode normalises with the batch's
/// statistics and updates the running ones (PyTorch's momentum convention: new = (1 - m) old + m batch).
public struct BatchNormOp: GraphOp {
    public let affine: Bool
    public let eps: Float, momentum: Float
    /// Buffer indices of the running mean, running variance and (when the state dict has one) the batch count.
    public let mean: Int, variance: Int, batches: Int?
    public init(affine: Bool, eps: Float, momentum: Float, mean: Int, variance: Int, batches: Int?) {
        self.affine = affine; self.eps = eps; self.momentum = momentum; self.mean = mean; self.variance = variance; self.batches = batches
    }
    public var kind: String { "batchNorm" }
    public func outputShape(_ s: [[Int]]) throws(GraphShapeError) -> [Int] {
        guard s[0].count >= 2 else { throw GraphShapeError("needs an N x C (x H x W) input") }
        for p in s.dropFirst() where p != [s[0][1]] { throw GraphShapeError("normalises \(p) features, the input has \(s[0][1]) channels") }
        return s[0]
    }
    public func run(_ i: [Tensor], _ c: inout GraphContext) -> Tensor {
        let (w, b): (Tensor?, Tensor?) = affine ? (i[1], i[2]) : (nil, nil)
        let (y, nm, nv) = batchNorm(i[0], weight: w, bias: b, runningMean: c.buffers[mean], runningVar: c.buffers[variance],
                                    training: c.bn == .train, momentum: momentum, eps: eps)
        if let nm = nm, let nv = nv {
            c.buffers[mean] = nm; c.buffers[variance] = nv
            if let nb = batches { c.buffers[nb] = Tensor(shape: c.buffers[nb].shape, repeating: c.buffers[nb].scalars[0] + 1) }
        }
        return y
    }
    public func flops(_ s: [[Int]], _ out: [Int]) -> Double { 2 * Double(out.reduce(1, *)) }
}

/// Layer norm over the axes from `axis` to the last (PyTorch's LayerNorm; ONNX LayerNormalization), with
/// optional scale and bias of the normalised shape.
public struct LayerNormOp: GraphOp {
    public let axis: Int, eps: Float
    public init(axis: Int, eps: Float) { self.axis = axis; self.eps = eps }
    public var kind: String { "layerNorm" }
    public func outputShape(_ s: [[Int]]) throws(GraphShapeError) -> [Int] {
        let a = axis < 0 ? s[0].count + axis : axis
        guard a >= 0 && a < s[0].count else { throw GraphShapeError("axis \(axis) outside the input") }
        let normalised = Array(s[0][a...])
        for p in s.dropFirst() where p != normalised && p != [normalised.reduce(1, *)] {
            throw GraphShapeError("scale or bias \(p) for normalised shape \(normalised)")
        }
        return s[0]
    }
    public func run(_ i: [Tensor], _ c: inout GraphContext) -> Tensor {
        let x = i[0], a = axis < 0 ? x.rank + axis : axis
        let axes = Array(a..<x.rank)
        let mean = x.mean(axes: axes, keepDims: true)
        let xc = x - mean
        var y = xc * ((xc * xc).mean(axes: axes, keepDims: true) + eps).pow(-0.5)
        let normalised = Array(x.shape[a...])
        if i.count > 1 { y = y * i[1].reshaped(normalised) }
        if i.count > 2 { y = y + i[2].reshaped(normalised) }
        return y
    }
    public func flops(_ s: [[Int]], _ out: [Int]) -> Double { 8 * Double(out.reduce(1, *)) }
}

/// Matrix product with NumPy broadcasting over leading dims (ONNX MatMul): [.., m, k] x [.., k, n].
public struct MatMulOp: GraphOp {
    public init() {}
    public var kind: String { "matmul" }
    public func outputShape(_ s: [[Int]]) throws(GraphShapeError) -> [Int] {
        let a = s[0], b = s[1]
        guard a.count >= 2, b.count >= 2 else { throw GraphShapeError("needs matrices of rank 2 or more") }
        guard a.last! == b[b.count - 2] else { throw GraphShapeError("inner sizes \(a.last!) and \(b[b.count - 2]) differ") }
        let la = Array(a.dropLast(2)), lb = Array(b.dropLast(2))
        guard lb.isEmpty || la == lb else { throw GraphShapeError("leading dims \(la) and \(lb): medpfl multiplies equal batches or a shared right matrix") }
        return la + [a[a.count - 2], b.last!]
    }
    public func run(_ i: [Tensor], _ c: inout GraphContext) -> Tensor {
        let a = i[0], b = i[1]
        let m = a.shape[a.rank - 2], k = a.shape.last!, n = b.shape.last!
        let lead = Array(a.shape.dropLast(2)), batch = lead.reduce(1, *)
        if b.rank == 2 {
            let y = matmul(a.reshaped([batch * m, k]), b)
            return y.reshaped(lead + [m, n])
        }
        let y = matmul(a.reshaped([batch, m, k]), b.reshaped([batch, k, n]))
        return y.reshaped(lead + [m, n])
    }
    public func flops(_ s: [[Int]], _ out: [Int]) -> Double { 2 * Double(out.reduce(1, *)) * Double(s[0].last!) }
}
