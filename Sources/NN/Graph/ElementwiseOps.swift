import Foundation
import Tensor

// Activations and broadcasting arithmetic.

/// One-input elementwise functions.
public enum UnaryFunction: Sendable, Equatable {
    case relu, sigmoid, tanh, softplus, identity, erf, sqrt, exp, neg
    /// Identity: updates are computed without dropout (PyTorch's eval behaviour; FL clients' dropout is not modelled).
    case dropout
    case leakyRelu(Float)
    /// min(max(x, lo), hi): ReLU6 is clip(0, 6).
    case clip(Float, Float)
    /// max(0, min(1, alpha x + beta)) (ONNX HardSigmoid; PyTorch's Hardsigmoid is alpha 1/6, beta 1/2).
    case hardSigmoid(alpha: Float, beta: Float)
    /// x * hardSigmoid(x; 1/6, 1/2) (PyTorch's Hardswish).
    case hardSwish
    /// x^p for a constant p.
    case pow(Float)
    /// x * sigmoid(x) (PyTorch's SiLU).
    case silu
    /// The exact (erf) GELU: x/2 (1 + erf(x / sqrt 2)).
    case gelu
}

public struct UnaryOp: GraphOp {
    public let function: UnaryFunction
    public init(_ f: UnaryFunction) { function = f }
    public var kind: String {
        switch function {
        case .relu: return "relu"
        case .sigmoid: return "sigmoid"
        case .tanh: return "tanh"
        case .softplus: return "softplus"
        case .identity: return "identity"
        case .dropout: return "dropout"
        case .erf: return "erf"
        case .sqrt: return "sqrt"
        case .exp: return "exp"
        case .neg: return "neg"
        case .leakyRelu: return "leakyRelu"
        case .clip: return "clip"
        case .hardSigmoid: return "hardSigmoid"
        case .hardSwish: return "hardSwish"
        case .pow: return "pow"
        case .silu: return "silu"
        case .gelu: return "gelu"
        }
    }
    public func outputShape(_ s: [[Int]]) throws(GraphShapeError) -> [Int] { s[0] }
    public func run(_ i: [Tensor], _ c: inout GraphContext) -> Tensor {
        let x = i[0]
        switch function {
        case .relu: return x.relu()
        case .sigmoid: return x.sigmoid()
        case .tanh: return x.tanh()
        case .softplus: return x.softplus()
        case .identity, .dropout: return x
        case .erf: return x.erf()
        case .sqrt: return x.sqrt()
        case .exp: return x.exp()
        case .neg: return -x
        case .leakyRelu(let s): return x.leakyRelu(s)
        case let .clip(lo, hi): return x.clamp(min: lo, max: hi)
        case let .hardSigmoid(a, b): return (x * a + b).clamp(min: 0, max: 1)
        case .hardSwish: return x * (x * (1 / 6) + 0.5).clamp(min: 0, max: 1)
        case .pow(let p): return x.pow(p)
        case .silu: return x * x.sigmoid()
        case .gelu: return x * ((x * Float(1 / 2.0.squareRoot())).erf() + 1) * 0.5
        }
    }
}

public enum BinaryFunction: String, Sendable { case add, sub, mul, div }

/// Two-input arithmetic with NumPy broadcasting (ONNX Add, Sub, Mul, Div; a residual connection is an add).
public struct BinaryOp: GraphOp {
    public let function: BinaryFunction
    public init(_ f: BinaryFunction) { function = f }
    public var kind: String { function.rawValue }
    public func outputShape(_ s: [[Int]]) throws(GraphShapeError) -> [Int] {
        guard let out = broadcastShape(s[0], s[1]) else { throw GraphShapeError("shapes \(s[0]) and \(s[1]) do not broadcast") }
        return out
    }
    public func run(_ i: [Tensor], _ c: inout GraphContext) -> Tensor {
        switch function {
        case .add: return i[0] + i[1]
        case .sub: return i[0] - i[1]
        case .mul: return i[0] * i[1]
        case .div: return i[0] / i[1]
        }
    }
}

/// Softmax over one axis (ONNX Softmax, opset >= 13).
public struct SoftmaxOp: GraphOp {
    public let axis: Int
    public init(axis: Int) { self.axis = axis }
    public var kind: String { "softmax" }
    public func outputShape(_ s: [[Int]]) throws(GraphShapeError) -> [Int] {
        let a = axis < 0 ? s[0].count + axis : axis
        guard a >= 0 && a < s[0].count else { throw GraphShapeError("axis \(axis) outside the input") }
        return s[0]
    }
    public func run(_ i: [Tensor], _ c: inout GraphContext) -> Tensor {
        let x = i[0], a = axis < 0 ? x.rank + axis : axis
        if a == x.rank - 1 { return x.softmax() }
        var order = Array(0..<x.rank); order.swapAt(a, x.rank - 1)
        return x.permuted(order).softmax().permuted(order)
    }
    public func flops(_ s: [[Int]], _ out: [Int]) -> Double { 4 * Double(out.reduce(1, *)) }
}

/// Mean over axes (ONNX ReduceMean; GlobalAveragePool is the mean over H and W with kept dims).
public struct ReduceMeanOp: GraphOp {
    public let axes: [Int], keepDims: Bool
    public let label: String
    public init(axes: [Int], keepDims: Bool, label: String = "reduceMean") { self.axes = axes; self.keepDims = keepDims; self.label = label }
    public var kind: String { label }
    func resolved(_ rank: Int) -> [Int] { axes.map { $0 < 0 ? rank + $0 : $0 } }
    public func outputShape(_ s: [[Int]]) throws(GraphShapeError) -> [Int] {
        let r = resolved(s[0].count)
        guard r.allSatisfy({ $0 >= 0 && $0 < s[0].count }) else { throw GraphShapeError("axes \(axes) outside a rank-\(s[0].count) input") }
        var out: [Int] = []
        for (d, n) in s[0].enumerated() {
            if r.contains(d) { if keepDims { out.append(1) } } else { out.append(n) }
        }
        return out
    }
    public func run(_ i: [Tensor], _ c: inout GraphContext) -> Tensor {
        i[0].mean(axes: resolved(i[0].rank), keepDims: keepDims)
    }
    public func flops(_ s: [[Int]], _ out: [Int]) -> Double { Double(s[0].reduce(1, *)) }
}
