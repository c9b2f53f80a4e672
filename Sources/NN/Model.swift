import Foundation
import SafeIO
import Tensor

/// Batch-norm behaviour: `train` normalises with the batch statistics (and updates the running ones),
/// `eval` uses the running statistics.
public enum BNMode: String, Sendable, Codable, CaseIterable { case train, eval }

/// How a tensor of the state dict is initialised when no weights file is given.
public enum Initializer: Sendable, Equatable {
    case uniform(Float, Float)
    case normal(mean: Float, std: Float)
    case constant(Float)
    /// The values the model file itself carries (an ONNX initializer).
    case values([Float])
}

/// A named tensor of a model's state dict: a trainable parameter or a buffer (running statistics).
public struct TensorSpec: Sendable, Equatable {
    public let name: String
    public let shape: [Int]
    public let isParameter: Bool
    public let initializer: Initializer
    public init(name: String, shape: [Int], isParameter: Bool, initializer: Initializer) {
        self.name = name; self.shape = shape; self.isParameter = isParameter; self.initializer = initializer
    }
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
    /// The network as a graph of ops (made per batch size for an ONNX import).
    public let graph: GraphSource
    /// Index of the last fully connected layer's weight and bias (label inference reads their gradients).
    public let classifierWeight: Int
    public let classifierBias: Int?
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
    /// Nodes of each op kind (conv2d, linear, batchNorm, relu, add, concat, ...).
    public let opCounts: [String: Int]
    /// Floating-point operations of one forward pass for one image (a multiply-add counts 2).
    public let forwardFLOPs: Double
    /// Where the architecture came from: "zoo", "model file", "ONNX" (shown by inspect).
    public internal(set) var format: String = "zoo"

    /// Checks the graph against the input and the classes (every error names its node) and analyses it.
    init(name: String, inputShape: [Int], classes: Int, parameters: [TensorSpec], buffers: [TensorSpec], source: GraphSource) throws {
        // Refuse a model whose weights alone cannot fit in this machine's memory, before any tensor is made.
        let weightBytes = parameters.reduce(0.0) { $0 + $1.shape.reduce(1.0) { $0 * Double($1) } } * 4
        if weightBytes > Double(Machine.memoryBytes) {
            throw ModelError.tooLarge("model \(name) for \(inputShape.map(String.init).joined(separator: "x")) inputs and \(classes) classes has "
                                      + "\(Model.count(weightBytes / 4)) parameters (\(byteCount(Int64(min(weightBytes, 9e18)))) as Float32); "
                                      + "this machine has \(byteCount(Machine.memoryBytes)) of memory")
        }
        let single = try source.single()
        let a = try GraphAnalysis(single, inputShape: inputShape, parameters: parameters, buffers: buffers, name: name)
        let out = try single.shapes(input: [1] + inputShape, parameters: parameters.map(\.shape), buffers: buffers.map(\.shape))
        let outShape: [Int]
        switch single.output {
        case .node(let i): outShape = out[i]
        default: outShape = []
        }
        guard outShape == [1, classes] else {
            throw ModelError.shapeMismatch(layer: name, message: "the network outputs shape \(Array(outShape.dropFirst())) per image, expected [\(classes)] class scores")
        }
        guard let cw = a.classifierWeight else { throw ModelError.shapeMismatch(layer: name, message: "no fully connected layer to classify with") }
        self.name = name; self.inputShape = inputShape; self.classes = classes
        self.parameters = parameters; self.buffers = buffers; self.graph = source
        self.classifierWeight = cw; self.classifierBias = a.classifierBias; self.firstLinear = a.firstLinear
        self.activationValues = a.activationValues; self.smallestBatchNormPlane = a.smallestBatchNormPlane
        self.opCounts = a.opCounts; self.forwardFLOPs = a.forwardFLOPs
    }

    public var parameterNames: [String] { parameters.map(\.name) }
    public var parameterCount: Int { parameters.reduce(0) { $0 + $1.shape.reduce(1, *) } }
    public var hasBatchNorm: Bool { buffers.contains { $0.name.hasSuffix("running_mean") } }

    /// Bytes an attack on a batch of `batch` images needs, roughly: the graph of a gradient-matching attack
    /// holds each weight and each activation about 16 times (forward values, the gradient, the gradient of the
    /// gradient and their intermediates), as Float32. Calibrated against the peak resident memory of one
    /// GradInversion iteration (`/usr/bin/time -f %M`, 2026-12-02): resnet18 224 px batch 8 4.3 GiB (estimate
    /// 4.6), resnet18-cifar 32 px batch 64 8.2 GiB (8.4), resnet50 224 px batch 2 4.0 GiB (5.8), densenet121
    /// 224 px batch 2 5.6 GiB (6.2): never below the measured peak there. It refuses impossible work up front
    /// and bounds how many trials an audit runs at once.
    ///
    /// An attack that only reads one gradient (`secondOrder: false`: the analytic, label-restoration and imprint
    /// read-outs) holds no graph of the gradient: 7 copies instead of 16, calibrated the same way (resnet18
    /// 224 px batch 8: measured 1.5-1.8 GB for those three, estimate 2.0 GiB; resnet18-cifar 32 px batch 256:
    /// imprint and ilrg peak at 9.0 GiB, estimate 13.9 GiB, 2026-12-04). With 16 (31.7 GiB) such a run was
    /// refused on a 23 GiB machine although it fits.
    public func memoryEstimate(batch: Int, secondOrder: Bool = true) -> Double {
        (secondOrder ? 16 : 7) * 4 * (Double(parameterCount) + Double(max(batch, 1)) * (activationValues + Double(inputShape.reduce(1, *))))
    }

    /// Refuses, before any tensor is made, work this model cannot do: batch norm in train mode over one value
    /// per channel (PyTorch refuses it too: "Expected more than 1 value per channel when training"), and a batch
    /// whose estimated memory (`memoryEstimate`, of a gradient-matching attack unless `secondOrder` is false)
    /// exceeds what this machine has available.
    public func requireFits(batch: Int, bn: BNMode, secondOrder: Bool = true) throws {
        guard batch >= 1 else { throw ModelError.tooLarge("a batch needs at least one image") }
        _ = try graph.plan(batch: batch, bn: bn)
        if bn == .train, let plane = smallestBatchNormPlane, batch * plane <= 1 {
            throw ModelError.tooLarge("model \(name): batch norm in train mode over one value per channel (batch \(batch), "
                                      + "a 1x1 feature map) is undefined, as PyTorch says (\"Expected more than 1 value per channel when training\"); "
                                      + "use bn: eval, a batch of at least 2, or a larger input")
        }
        let need = memoryEstimate(batch: batch, secondOrder: secondOrder), have = Double(Machine.availableMemoryBytes)
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
    /// The batch must be one `requireFits` accepted (an ONNX graph is checked per batch size there).
    public func forward(_ x: Tensor, params: [Tensor], buffers: [Tensor], bn: BNMode) -> (logits: Tensor, buffers: [Tensor]) {
        precondition(params.count == parameters.count, "\(name): \(params.count) parameter tensors for \(parameters.count)")
        let plan: GraphPlan
        do { plan = try graph.plan(batch: x.shape[0], bn: bn) } catch { preconditionFailure("\(error)") }
        let (y, b) = plan.run(inputNormalization.map { $0.apply(x) } ?? x, params: params, buffers: buffers, bn: bn)
        return (y, b)
    }

    public func forward(_ x: Tensor, state: ModelState, bn: BNMode) -> Tensor {
        forward(x, params: state.parameters, buffers: state.buffers, bn: bn).logits
    }

    /// The penultimate-layer features of each image of `x` (NCHW, pixel space), [B, D]: what the classifier's
    /// last linear layer reads (the logits for a model that does not end in one). Eval-mode batch norm, no
    /// gradient. The batch must be one `requireFits` accepted.
    public func features(_ x: Tensor, state: ModelState) throws -> Tensor {
        let plan = try graph.plan(batch: x.shape[0], bn: .eval)
        return GradMode.withoutGrad {
            plan.features(inputNormalization.map { $0.apply(x) } ?? x, params: state.parameters, buffers: state.buffers)
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
