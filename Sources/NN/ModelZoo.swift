import Foundation
import SafeIO
import Tensor

/// The built-in architectures. Parameter names and layouts equal PyTorch `state_dict()` keys of the
/// reference implementations, so exported weights load unchanged.
public enum ModelZoo {
    public static let names = ["lenet", "lenet4", "cnn7", "mlp", "resnet18", "resnet18-cifar"]
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
        case "resnet18": return try resnet18(classes: classes, size: size, channels: channels, cifarStem: false)
        case "resnet18-cifar": return try resnet18(classes: classes, size: size, channels: channels, cifarStem: true)
        default: throw ModelError.unknownModel(name)
        }
    }

    /// The LeNet of Zhu et al. (DLG): Conv(12, k5, p2) + Sigmoid with strides 2, 2, 1 (and 1 for the
    /// 4-conv variant of the MedPFL/CPL code), then Linear. Every weight and bias U(-0.5, 0.5).
    static func lenet(convs: Int, classes: Int, size: Int, channels: Int) throws -> Model {
        let b = ModelBuilder()
        let u = Initializer.uniform(-0.5, 0.5)
        var layers: [Layer] = []
        var side = size
        for i in 0..<convs {
            let stride = i < 2 ? 2 : 1
            layers.append(b.conv("body.\(2 * i).", i == 0 ? channels : 12, 12, kernel: 5, stride: stride, padding: 2,
                                 weightInit: u, biasInit: u))
            layers.append(.activation(.sigmoid, slope: 0))
            side = (side + 4 - 5) / stride + 1
        }
        let body = Layer.sequence([.sequence(layers), .flatten,
                                   b.linear("fc.0.", 12 * side * side, classes, weightInit: u, biasInit: u)])
        return try b.build(name: convs == 3 ? "lenet" : "lenet4", inputShape: [channels, size, size], classes: classes, body: body)
    }

    /// CPL's "7-layer CNN": 6 x [Conv(16, k2, s1, p2) + Sigmoid] then Linear (each conv grows the side by 3).
    static func cnn7(classes: Int, size: Int, channels: Int) throws -> Model {
        let b = ModelBuilder()
        let u = Initializer.uniform(-0.5, 0.5)
        var layers: [Layer] = []
        for i in 0..<6 {
            layers.append(b.conv("body.\(2 * i).", i == 0 ? channels : 16, 16, kernel: 2, stride: 1, padding: 2, weightInit: u, biasInit: u))
            layers.append(.activation(.sigmoid, slope: 0))
        }
        let side = size + 18
        let body = Layer.sequence([.sequence(layers), .flatten, b.linear("fc.0.", 16 * side * side, classes, weightInit: u, biasInit: u)])
        return try b.build(name: "cnn7", inputShape: [channels, size, size], classes: classes, body: body)
    }

    /// Flatten -> Linear(H) -> ReLU -> Linear(C); PyTorch default initialisation.
    static func mlp(classes: Int, size: Int, channels: Int, hidden: Int) throws -> Model {
        let b = ModelBuilder()
        let body = Layer.sequence([.flatten, b.linear("fc1.", channels * size * size, hidden), .activation(.relu, slope: 0),
                                   b.linear("fc2.", hidden, classes)])
        return try b.build(name: "mlp", inputShape: [channels, size, size], classes: classes, body: body)
    }

    /// torchvision ResNet-18 (BasicBlocks [2,2,2,2]); `cifarStem` replaces the 7x7/2 conv and max-pool by a
    /// 3x3/1 conv. Initialisation as torchvision: kaiming-normal (fan-out) convs, BN weight 1 / bias 0,
    /// default Linear.
    static func resnet18(classes: Int, size: Int, channels: Int, cifarStem: Bool) throws -> Model {
        let b = ModelBuilder()
        func kaiming(_ cout: Int, _ k: Int) -> Initializer { .normal(mean: 0, std: (2 / Float(cout * k * k)).squareRoot()) }
        var layers: [Layer] = []
        if cifarStem {
            layers.append(b.conv("conv1.", channels, 64, kernel: 3, stride: 1, padding: 1, bias: false, weightInit: kaiming(64, 3)))
        } else {
            layers.append(b.conv("conv1.", channels, 64, kernel: 7, stride: 2, padding: 3, bias: false, weightInit: kaiming(64, 7)))
        }
        layers.append(b.batchNorm("bn1.", 64))
        layers.append(.activation(.relu, slope: 0))
        if !cifarStem { layers.append(.maxPool(kernel: 3, stride: 2, padding: 1)) }
        var inplanes = 64
        for (li, planes) in [64, 128, 256, 512].enumerated() {
            for bi in 0..<2 {
                let stride = (li > 0 && bi == 0) ? 2 : 1
                let p = "layer\(li + 1).\(bi)."
                let main: [Layer] = [
                    b.conv(p + "conv1.", inplanes, planes, kernel: 3, stride: stride, padding: 1, bias: false, weightInit: kaiming(planes, 3)),
                    b.batchNorm(p + "bn1.", planes), .activation(.relu, slope: 0),
                    b.conv(p + "conv2.", planes, planes, kernel: 3, stride: 1, padding: 1, bias: false, weightInit: kaiming(planes, 3)),
                    b.batchNorm(p + "bn2.", planes),
                ]
                var shortcut: [Layer] = []
                if stride != 1 || inplanes != planes {
                    shortcut = [b.conv(p + "downsample.0.", inplanes, planes, kernel: 1, stride: stride, bias: false, weightInit: kaiming(planes, 1)),
                                b.batchNorm(p + "downsample.1.", planes)]
                }
                layers.append(.residual(main: main, shortcut: shortcut))
                inplanes = planes
            }
        }
        layers.append(.adaptiveAvgPool(1, 1))
        layers.append(.flatten)
        layers.append(b.linear("fc.", 512, classes))
        return try b.build(name: cifarStem ? "resnet18-cifar" : "resnet18", inputShape: [channels, size, size], classes: classes, body: .sequence(layers))
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
