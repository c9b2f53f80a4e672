import Foundation
import SafeIO
import Tensor

/// The built-in architectures. Parameter names and layouts equal PyTorch `state_dict()` keys of the
/// reference implementations, so exported weights load unchanged.
public enum ModelZoo {
    public static let names = ["lenet", "lenet4", "cnn7", "mlp", "resnet18", "resnet18-cifar",
                               "resnet34", "resnet50", "densenet121", "mobilenet_v2", "efficientnet_b0"]
    /// The largest square input side (the image decoder's limit) and class count a model is built for.
    public static let maximumSize = 16384
    public static let maximumClasses = 100_000

    /// - Parameters: `size` is the square input side, `channels` the input channels, `hidden` the MLP width.
    public static func make(_ name: String, classes: Int, size: Int = 32, channels: Int = 3, hidden: Int = 64) throws -> Model {
        guard classes >= 2 else { throw ModelError.shapeMismatch(layer: name, message: "needs at least 2 classes, got \(classes)") }
        guard size >= 4 else { throw ModelError.shapeMismatch(layer: name, message: "input size \(size) is too small") }
        guard size <= maximumSize else {
            throw ModelError.tooLarge("model \(name): input size \(size) is larger than the \(maximumSize) pixels medpfl handles (the PNG limit)")
        }
        guard classes <= maximumClasses else {
            throw ModelError.tooLarge("model \(name): \(classes) classes is more than the \(maximumClasses) medpfl handles")
        }
        switch name {
        case "lenet": return try lenet(convs: 3, classes: classes, size: size, channels: channels)
        case "lenet4": return try lenet(convs: 4, classes: classes, size: size, channels: channels)
        case "cnn7": return try cnn7(classes: classes, size: size, channels: channels)
        case "mlp": return try mlp(classes: classes, size: size, channels: channels, hidden: hidden)
        case "resnet18": return try Torchvision.resnet(.basic, [2, 2, 2, 2], name: name, classes: classes, size: size, channels: channels)
        case "resnet18-cifar":
            return try Torchvision.resnet(.basic, [2, 2, 2, 2], name: name, classes: classes, size: size, channels: channels, cifarStem: true)
        case "resnet34": return try Torchvision.resnet(.basic, [3, 4, 6, 3], name: name, classes: classes, size: size, channels: channels)
        case "resnet50": return try Torchvision.resnet(.bottleneck, [3, 4, 6, 3], name: name, classes: classes, size: size, channels: channels)
        case "densenet121":
            return try Torchvision.densenet(growth: 32, blocks: [6, 12, 24, 16], initFeatures: 64, bnSize: 4, name: name,
                                            classes: classes, size: size, channels: channels)
        case "mobilenet_v2": return try Torchvision.mobilenetV2(name: name, classes: classes, size: size, channels: channels)
        case "efficientnet_b0": return try Torchvision.efficientnetB0(name: name, classes: classes, size: size, channels: channels)
        default: throw ModelError.unknownModel(name)
        }
    }

    /// The LeNet of Zhu et al. (DLG): Conv(12, k5, p2) + Sigmoid with strides 2, 2, 1 (and 1 for the
    /// 4-conv variant of the MedPFL/CPL code), then Linear. Every weight and bias U(-0.5, 0.5).
    static func lenet(convs: Int, classes: Int, size: Int, channels: Int) throws -> Model {
        let b = ModelBuilder()
        let u = Initializer.uniform(-0.5, 0.5)
        var x = b.input
        var side = size
        for i in 0..<convs {
            let stride = i < 2 ? 2 : 1
            x = b.conv("body.\(2 * i).", x, i == 0 ? channels : 12, 12, kernel: 5, stride: stride, padding: 2, weightInit: u, biasInit: u)
            x = b.apply(.sigmoid, x, name: "body.\(2 * i + 1)")
            side = (side + 4 - 5) / stride + 1
        }
        x = b.linear("fc.0.", b.flatten(x), 12 * side * side, classes, weightInit: u, biasInit: u)
        return try b.build(name: convs == 3 ? "lenet" : "lenet4", inputShape: [channels, size, size], classes: classes, output: x)
    }

    /// CPL's "7-layer CNN": 6 x [Conv(16, k2, s1, p2) + Sigmoid] then Linear (each conv grows the side by 3).
    static func cnn7(classes: Int, size: Int, channels: Int) throws -> Model {
        let b = ModelBuilder()
        let u = Initializer.uniform(-0.5, 0.5)
        var x = b.input
        for i in 0..<6 {
            x = b.conv("body.\(2 * i).", x, i == 0 ? channels : 16, 16, kernel: 2, stride: 1, padding: 2, weightInit: u, biasInit: u)
            x = b.apply(.sigmoid, x, name: "body.\(2 * i + 1)")
        }
        let side = size + 18
        x = b.linear("fc.0.", b.flatten(x), 16 * side * side, classes, weightInit: u, biasInit: u)
        return try b.build(name: "cnn7", inputShape: [channels, size, size], classes: classes, output: x)
    }

    /// Flatten -> Linear(H) -> ReLU -> Linear(C); PyTorch default initialisation.
    static func mlp(classes: Int, size: Int, channels: Int, hidden: Int) throws -> Model {
        let b = ModelBuilder()
        var x = b.linear("fc1.", b.flatten(b.input), channels * size * size, hidden)
        x = b.linear("fc2.", b.apply(.relu, x), hidden, classes)
        return try b.build(name: "mlp", inputShape: [channels, size, size], classes: classes, output: x)
    }
}

extension Model {
    /// Seeded initialisation: tensors are drawn in state-dict order (parameters, then buffers) from `seed`.
    public func initialState(seed: UInt64) -> ModelState {
        var rng = SeededGenerator(seed: seed)
        func make(_ s: TensorSpec) -> Tensor {
            switch s.initializer {
            case let .uniform(lo, hi): return Tensor.uniform(s.shape, low: lo, high: hi, using: &rng)
            case let .normal(m, sd): return Tensor.randn(s.shape, using: &rng) * sd + m
            case let .constant(c): return Tensor(shape: s.shape, repeating: c)
            case let .values(v): return Tensor(shape: s.shape, data: v)
            }
        }
        return ModelState(parameters: parameters.map(make), buffers: buffers.map(make))
    }

    /// Loads a state dict. Every missing, unexpected or mis-shaped key is reported by name in one error.
    /// Buffers missing from the file (e.g. `num_batches_tracked`) keep their initial values only if
    /// `allowMissingBuffers`.
    /// Reads safetensors, or a PyTorch checkpoint (`.pt`, `.pth`, `.pth.tar`, `.bin`: torch.save's zip or legacy
    /// format, through a restricted unpickler; `key` names the state dict inside a training checkpoint).
    public func loadState(_ path: String, allowMissingBuffers: Bool = false, key: String? = nil) throws -> ModelState {
        let tensors: [String: StoredTensor]
        if try Self.isTorchCheckpoint(path) {
            tensors = try TorchCheckpoint.stateDict(path, key: key)
        } else {
            tensors = try Safetensors.read(path).tensors
        }
        return try state(from: tensors, source: path, allowMissingBuffers: allowMissingBuffers)
    }

    /// A torch.save file (by its first bytes: a zip archive or a pickle stream), not safetensors.
    static func isTorchCheckpoint(_ path: String) throws -> Bool {
        // A missing or irregular file is left to the reader, which names the problem.
        guard let head = try? BoundedFile.head(path, count: 4, what: "weights file") else { return false }
        return TorchCheckpoint.looksLikeCheckpoint(head)
    }

    public func state(from stored: [String: StoredTensor], source: String, allowMissingBuffers: Bool = false) throws -> ModelState {
        var problems: [String] = []
        func take(_ s: TensorSpec) -> Tensor {
            guard let t = stored[s.name] else {
                if !s.isParameter && allowMissingBuffers { return Tensor(shape: s.shape, repeating: s.initializer == .constant(1) ? 1 : 0) }
                problems.append("missing '\(s.name)'")
                return Tensor.zeros(s.shape)
            }
            if t.shape != s.shape && !(s.shape.isEmpty && t.shape == [1]) {
                problems.append("'\(s.name)' has shape \(t.shape), the model needs \(s.shape)")
                return Tensor.zeros(s.shape)
            }
            return Tensor(shape: s.shape, data: t.floats)
        }
        let p = parameters.map(take), b = buffers.map(take)
        let known = Set(parameters.map(\.name) + buffers.map(\.name))
        for k in stored.keys.sorted() where !known.contains(k) { problems.append("unexpected '\(k)'") }
        if !problems.isEmpty {
            throw ModelError.weights("weights \(source) do not fit model \(name): " + problems.joined(separator: "; "))
        }
        return ModelState(parameters: p, buffers: b)
    }

    /// The state dict as (name, tensor) pairs in PyTorch order (parameters, then buffers).
    public func stateDict(_ s: ModelState) -> [(String, Tensor)] {
        zip(parameters.map(\.name), s.parameters).map { ($0, $1) } + zip(buffers.map(\.name), s.buffers).map { ($0, $1) }
    }
}
