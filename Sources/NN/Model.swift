import Foundation
import SafeIO
import Tensor

/// Batch-norm behaviour: `train` normalises with the batch statistics (and updates the running ones),
/// `eval` uses the running statistics.
public enum BNMode: String, Sendable, Codable, CaseIterable { case train, eval }

public enum Activation: String, Sendable, Codable {
    case relu, sigmoid, tanh, leakyRelu, softplus, identity
}

/// How a tensor of the state dict is initialised when no weights file is given.
public enum Initializer: Sendable, Equatable {
    case uniform(Float, Float)
    case normal(mean: Float, std: Float)
    case constant(Float)
}

/// A named tensor of a model's state dict: a trainable parameter or a buffer (running statistics).
public struct TensorSpec: Sendable, Equatable {
    public let name: String
    public let shape: [Int]
    public let isParameter: Bool
    public let initializer: Initializer
}

/// One layer of a model. Indices point into the model's parameter or buffer list.
public indirect enum Layer: Sendable {
    case conv2d(weight: Int, bias: Int?, stride: Int, padding: Int, dilation: Int)
    case linear(weight: Int, bias: Int?)
    case batchNorm(weight: Int?, bias: Int?, mean: Int, variance: Int, batches: Int?, eps: Float, momentum: Float)
    case activation(Activation, slope: Float)
    case maxPool(kernel: Int, stride: Int, padding: Int)
    case avgPool(kernel: Int, stride: Int, padding: Int)
    case adaptiveAvgPool(Int, Int)
    case flatten
    case dropout(Float)      // identity: updates are computed without dropout
    case sequence([Layer])
    /// ResNet BasicBlock: relu(bn2(conv2(relu(bn1(conv1 x)))) + shortcut(x)).
    case residual(main: [Layer], shortcut: [Layer])
}

/// A network: its state-dict layout (PyTorch names, shapes and order) and its layers.
///
/// The forward pass is functional: it takes the parameter tensors as arguments, so an attack can
/// differentiate through it with respect to the input, the parameters, or both, and a FedAvg attack
/// can unroll local training steps inside the graph.
public struct Model: Sendable {
    public let name: String
    public let inputShape: [Int]          // C, H, W
    public let classes: Int
    public let parameters: [TensorSpec]   // `named_parameters()` order
    public let buffers: [TensorSpec]      // running_mean, running_var, num_batches_tracked
    public let body: Layer
    /// Index of the last fully connected layer's weight (label inference reads its gradient).
    public let classifierWeight: Int
    /// Index of the first layer's weight and bias when the first layer is fully connected (analytic attack).
    public let firstLinear: (weight: Int, bias: Int)?
    /// Values all layers output for one image (the forward pass's activations).
    public let activationValues: Double
    /// The fewest values per channel per image that a batch-norm layer normalises (H x W of its input);
    /// nil without batch norm.
    public let smallestBatchNormPlane: Int?
    /// The site's input normalisation, applied inside the differentiable forward pass: the model's input
    /// (and every attack's reconstruction) stays a pixel-space image in [0, 1].
    public internal(set) var inputNormalization: InputNormalization? = nil
    /// Layers of each op type (conv2d, linear, batchNorm, relu, ...).
    public let opCounts: [String: Int]
    /// Floating-point operations of one forward pass for one image (a multiply-add counts 2).
    public let forwardFLOPs: Double

    public var parameterNames: [String] { parameters.map(\.name) }
    public var parameterCount: Int { parameters.reduce(0) { $0 + $1.shape.reduce(1, *) } }
    public var hasBatchNorm: Bool { buffers.contains { $0.name.hasSuffix("running_mean") } }

    /// Bytes an attack on a batch of `batch` images needs, roughly: the graph of a gradient-matching attack
    /// holds each weight and each activation about 8 times (forward values, the gradient, the gradient of the
    /// gradient and their intermediates), as Float32. An estimate to refuse impossible work up front, not a
    /// prediction of peak memory.
    public func memoryEstimate(batch: Int) -> Double {
        8 * 4 * (Double(parameterCount) + Double(max(batch, 1)) * (activationValues + Double(inputShape.reduce(1, *))))
    }

    /// Refuses, before any tensor is made, work this model cannot do: batch norm in train mode over one value
    /// per channel (PyTorch refuses it too: "Expected more than 1 value per channel when training"), and a batch
    /// whose estimated memory (`memoryEstimate`) exceeds what this machine has available.
    public func requireFits(batch: Int, bn: BNMode) throws {
        guard batch >= 1 else { throw ModelError.tooLarge("a batch needs at least one image") }
        if bn == .train, let plane = smallestBatchNormPlane, batch * plane <= 1 {
            throw ModelError.tooLarge("model \(name): batch norm in train mode over one value per channel (batch \(batch), "
                                      + "a 1x1 feature map) is undefined, as PyTorch says (\"Expected more than 1 value per channel when training\"); "
                                      + "use bn: eval, a batch of at least 2, or a larger input")
        }
        let need = memoryEstimate(batch: batch), have = Double(Machine.availableMemoryBytes)
        if need > have {
            throw ModelError.tooLarge("model \(name) at \(inputShape.map(String.init).joined(separator: "x")) with a batch of \(batch) needs about "
                                      + "\(byteCount(Int64(min(need, 9e18)))) for an attack (\(Model.count(Double(parameterCount))) parameters, "
                                      + "\(Model.count(activationValues)) activations per image); this machine has \(byteCount(Int64(have))) available")
        }
    }

    /// "1.2 M", "3.4 G".
    static func count(_ n: Double) -> String {
        if n >= 1e12 { return String(format: "%.1f T", n / 1e12) }
        if n >= 1e9 { return String(format: "%.1f G", n / 1e9) }
        if n >= 1e6 { return String(format: "%.1f M", n / 1e6) }
        if n >= 1e3 { return String(format: "%.1f k", n / 1e3) }
        return String(Int(n))
    }
}

/// The mutable values of a model: parameters and buffers, in the order of the model's specs.
/// `@unchecked Sendable`: safe because it holds only `Tensor`s (read-only once shared, see `Tensor`) in `let`s
/// and value-type arrays.
public struct ModelState: @unchecked Sendable {
    public var parameters: [Tensor]
    public var buffers: [Tensor]
    public init(parameters: [Tensor], buffers: [Tensor]) { self.parameters = parameters; self.buffers = buffers }

    /// Leaf copies, detached from any graph.
    public func copy() -> ModelState {
        ModelState(parameters: parameters.map { $0.detached() }, buffers: buffers.map { $0.detached() })
    }
}

extension Model {
    /// Runs the network on `x` (NCHW). `params` defaults to `state.parameters`; in BN train mode the
    /// returned buffers hold the updated running statistics (the caller decides whether to keep them).
    public func forward(_ x: Tensor, params: [Tensor], buffers: [Tensor], bn: BNMode) -> (logits: Tensor, buffers: [Tensor]) {
        precondition(params.count == parameters.count, "\(name): \(params.count) parameter tensors for \(parameters.count)")
        var ctx = ForwardContext(params: params, buffers: buffers, bn: bn)
        let y = ctx.run(body, inputNormalization.map { $0.apply(x) } ?? x)
        return (y, ctx.buffers)
    }

    public func forward(_ x: Tensor, state: ModelState, bn: BNMode) -> Tensor {
        forward(x, params: state.parameters, buffers: state.buffers, bn: bn).logits
    }
}

struct ForwardContext {
    let params: [Tensor]
    var buffers: [Tensor]
    let bn: BNMode

    mutating func run(_ layer: Layer, _ x: Tensor) -> Tensor {
        switch layer {
        case let .conv2d(w, b, s, p, d):
            return conv2d(x, weight: params[w], bias: b.map { params[$0] }, stride: s, padding: p, dilation: d)
        case let .linear(w, b):
            let input = x.rank == 2 ? x : x.flattened()
            return linear(input, weight: params[w], bias: b.map { params[$0] })
        case let .batchNorm(w, b, m, v, nb, eps, mom):
            let (y, nm, nv) = batchNorm(x, weight: w.map { params[$0] }, bias: b.map { params[$0] },
                                         runningMean: buffers[m], runningVar: buffers[v],
                                         training: bn == .train, momentum: mom, eps: eps)
            if let nm = nm, let nv = nv {
                buffers[m] = nm; buffers[v] = nv
                if let nb = nb { buffers[nb] = Tensor(shape: buffers[nb].shape, repeating: buffers[nb].scalars[0] + 1) }
            }
            return y
        case let .activation(a, slope):
            switch a {
            case .relu: return x.relu()
            case .sigmoid: return x.sigmoid()
            case .tanh: return x.tanh()
            case .leakyRelu: return x.leakyRelu(slope)
            case .softplus: return x.softplus()
            case .identity: return x
            }
        case let .maxPool(k, s, p): return x.maxPool2d(kernel: k, stride: s, padding: p)
        case let .avgPool(k, s, p): return x.avgPool2d(kernel: k, stride: s, padding: p)
        case let .adaptiveAvgPool(h, w): return x.adaptiveAvgPool2d(h, w)
        case .flatten: return x.flattened()
        case .dropout: return x
        case let .sequence(layers):
            var y = x
            for l in layers { y = run(l, y) }
            return y
        case let .residual(main, shortcut):
            var y = x
            for l in main { y = run(l, y) }
            var s = x
            for l in shortcut { s = run(l, s) }
            return (y + s).relu()
        }
    }
}

/// Per-channel input normalisation as torchvision's `transforms.Normalize` computes it: (x - mean) / std.
public struct InputNormalization: Codable, Sendable, Equatable {
    public let mean: [Float]
    public let std: [Float]

    /// ImageNet's statistics (torchvision's pretrained models).
    public static let imagenet = InputNormalization(uncheckedMean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225])

    public init(mean: [Float], std: [Float]) throws {
        guard !mean.isEmpty, mean.count == std.count else {
            throw ModelError.shapeMismatch(layer: "input", message: "normalisation needs one mean and one std per channel, got \(mean.count) and \(std.count)")
        }
        guard mean.allSatisfy(\.isFinite), std.allSatisfy({ $0.isFinite && $0 > 0 }) else {
            throw ModelError.shapeMismatch(layer: "input", message: "normalisation: every mean must be finite and every std finite and > 0")
        }
        self.mean = mean
        self.std = std
    }

    init(uncheckedMean mean: [Float], std: [Float]) { self.mean = mean; self.std = std }

    /// (x - mean) / std on an NCHW batch, differentiable (twice) in x.
    public func apply(_ x: Tensor) -> Tensor {
        let c = mean.count
        return (x - Tensor(shape: [1, c, 1, 1], data: mean)) / Tensor(shape: [1, c, 1, 1], data: std)
    }

    /// Back to pixel space: x * std + mean.
    public func invert(_ x: Tensor) -> Tensor {
        let c = mean.count
        return x * Tensor(shape: [1, c, 1, 1], data: std) + Tensor(shape: [1, c, 1, 1], data: mean)
    }

    /// "ImageNet (mean 0.485, 0.456, 0.406; std 0.229, 0.224, 0.225)".
    public var inWords: String {
        func list(_ v: [Float]) -> String { v.map { String(format: "%g", $0) }.joined(separator: ", ") }
        return (self == .imagenet ? "ImageNet " : "") + "(mean \(list(mean)); std \(list(std)))"
    }
}

extension Model {
    /// This model with the site's input normalisation inside its forward pass.
    public func normalizingInput(_ n: InputNormalization) throws -> Model {
        guard n.mean.count == inputShape[0] else {
            throw ModelError.shapeMismatch(layer: name, message: "the normalisation has \(n.mean.count) channels, the model takes \(inputShape[0])")
        }
        var m = self
        m.inputNormalization = n
        return m
    }
}
