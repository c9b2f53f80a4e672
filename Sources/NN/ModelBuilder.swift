import Foundation
import SafeIO
import Tensor

/// Accumulates state-dict specs while a model's layers are declared, in PyTorch registration order.
public final class ModelBuilder {
    public private(set) var parameters: [TensorSpec] = []
    public private(set) var buffers: [TensorSpec] = []
    /// Filled by `inferShape`: values every layer outputs for one image, and the smallest feature plane
    /// (values per channel per image) that a batch-norm layer normalises.
    private var activationValues = 0.0
    private var smallestBatchNormPlane: Int? = nil
    /// Filled by `inferShape`: how many layers of each op, and the floating-point operations of one forward
    /// pass for one image (a multiply-add counts 2).
    private var opCounts: [String: Int] = [:]
    private var forwardFLOPs = 0.0
    public init() {}

    func param(_ name: String, _ shape: [Int], _ initializer: Initializer) -> Int {
        parameters.append(TensorSpec(name: name, shape: shape, isParameter: true, initializer: initializer))
        return parameters.count - 1
    }
    func buffer(_ name: String, _ shape: [Int], _ initializer: Initializer) -> Int {
        buffers.append(TensorSpec(name: name, shape: shape, isParameter: false, initializer: initializer))
        return buffers.count - 1
    }

    /// PyTorch's default for Conv2d/Linear: kaiming_uniform(a = sqrt(5)) = U(-1/sqrt(fan_in), 1/sqrt(fan_in)),
    /// and the same bound for the bias.
    public static func torchDefault(fanIn: Int) -> Initializer {
        let b = 1 / Float(fanIn).squareRoot()
        return .uniform(-b, b)
    }

    public func conv(_ prefix: String, _ cin: Int, _ cout: Int, kernel: Int, stride: Int = 1, padding: Int = 0,
                     dilation: Int = 1, bias: Bool = true, weightInit: Initializer? = nil, biasInit: Initializer? = nil) -> Layer {
        let fanIn = cin * kernel * kernel
        let w = param(prefix + "weight", [cout, cin, kernel, kernel], weightInit ?? Self.torchDefault(fanIn: fanIn))
        let b = bias ? param(prefix + "bias", [cout], biasInit ?? Self.torchDefault(fanIn: fanIn)) : nil
        return .conv2d(weight: w, bias: b, stride: stride, padding: padding, dilation: dilation)
    }

    public func linear(_ prefix: String, _ fin: Int, _ fout: Int, bias: Bool = true,
                       weightInit: Initializer? = nil, biasInit: Initializer? = nil) -> Layer {
        let w = param(prefix + "weight", [fout, fin], weightInit ?? Self.torchDefault(fanIn: fin))
        let b = bias ? param(prefix + "bias", [fout], biasInit ?? Self.torchDefault(fanIn: fin)) : nil
        return .linear(weight: w, bias: b)
    }

    public func batchNorm(_ prefix: String, _ features: Int, eps: Float = 1e-5, momentum: Float = 0.1, affine: Bool = true) -> Layer {
        let w = affine ? param(prefix + "weight", [features], .constant(1)) : nil
        let b = affine ? param(prefix + "bias", [features], .constant(0)) : nil
        let m = buffer(prefix + "running_mean", [features], .constant(0))
        let v = buffer(prefix + "running_var", [features], .constant(1))
        let n = buffer(prefix + "num_batches_tracked", [], .constant(0))
        return .batchNorm(weight: w, bias: b, mean: m, variance: v, batches: n, eps: eps, momentum: momentum)
    }

    public func build(name: String, inputShape: [Int], classes: Int, body: Layer) throws -> Model {
        activationValues = 0
        smallestBatchNormPlane = nil
        opCounts = [:]
        forwardFLOPs = 0
        let out = try inferShape(body, inputShape, path: name)
        // Refuse a model whose weights alone cannot fit in this machine's memory, before any tensor is made.
        let weightBytes = parameters.reduce(0.0) { $0 + $1.shape.reduce(1.0) { $0 * Double($1) } } * 4
        if weightBytes > Double(Machine.memoryBytes) {
            throw ModelError.tooLarge("model \(name) for \(inputShape.map(String.init).joined(separator: "x")) inputs and \(classes) classes has "
                                      + "\(Model.count(weightBytes / 4)) parameters (\(byteCount(Int64(min(weightBytes, 9e18)))) as Float32); "
                                      + "this machine has \(byteCount(Machine.memoryBytes)) of memory")
        }
        guard out == [classes] else {
            throw ModelError.shapeMismatch(layer: name, message: "the network outputs shape \(out) per image, expected [\(classes)] class scores")
        }
        let linears = parameters.indices.filter { i in parameters[i].shape.count == 2 && parameters[i].name.hasSuffix("weight") }
        guard let last = linears.last else { throw ModelError.shapeMismatch(layer: name, message: "no fully connected layer to classify with") }
        var first: (Int, Int)? = nil
        if case .sequence(let layers) = body, let firstParam = Self.firstParametric(layers), case let .linear(w, b?) = firstParam {
            first = (w, b)
        }
        return Model(name: name, inputShape: inputShape, classes: classes, parameters: parameters, buffers: buffers,
                     body: body, classifierWeight: last, firstLinear: first, activationValues: activationValues,
                     smallestBatchNormPlane: smallestBatchNormPlane, opCounts: opCounts, forwardFLOPs: forwardFLOPs)
    }

    static func firstParametric(_ layers: [Layer]) -> Layer? {
        for l in layers {
            switch l {
            case .conv2d, .linear, .batchNorm, .residual: return l
            case .sequence(let inner): if let f = firstParametric(inner) { return f }
            default: continue
            }
        }
        return nil
    }

    /// Output shape (per image) of `layer` for an input of `shape`; errors name the layer. Adds every layer's
    /// output size to `activationValues` and notes the batch-norm planes.
    func inferShape(_ layer: Layer, _ shape: [Int], path: String) throws -> [Int] {
        let out = try layerShape(layer, shape, path: path)
        let outValues = out.reduce(1.0) { $0 * Double($1) }
        switch layer {
        case let .conv2d(w, _, _, _, _):
            let ws = parameters[w].shape
            opCounts["conv2d", default: 0] += 1
            forwardFLOPs += 2 * outValues * Double(ws[1] * ws[2] * ws[3])
        case let .linear(w, _):
            opCounts["linear", default: 0] += 1
            forwardFLOPs += 2 * outValues * Double(parameters[w].shape[1])
        case .batchNorm: opCounts["batchNorm", default: 0] += 1; forwardFLOPs += 2 * outValues
        case .activation(let a, _): opCounts[a.rawValue, default: 0] += 1; forwardFLOPs += outValues
        case let .maxPool(k, _, _), let .avgPool(k, _, _):
            opCounts[{ if case .maxPool = layer { return "maxPool" } else { return "avgPool" } }(), default: 0] += 1
            forwardFLOPs += outValues * Double(k * k)
        case .adaptiveAvgPool: opCounts["adaptiveAvgPool", default: 0] += 1; forwardFLOPs += shape.reduce(1.0) { $0 * Double($1) }
        case .flatten: opCounts["flatten", default: 0] += 1
        case .dropout: opCounts["dropout", default: 0] += 1
        case .residual: opCounts["residualAdd", default: 0] += 1; forwardFLOPs += outValues
        case .sequence: break
        }
        switch layer {
        case .sequence, .residual: break
        case .batchNorm:
            let plane = shape.dropFirst().reduce(1, *)
            smallestBatchNormPlane = min(smallestBatchNormPlane ?? plane, plane)
            activationValues += out.reduce(1.0) { $0 * Double($1) }
        default: activationValues += out.reduce(1.0) { $0 * Double($1) }
        }
        return out
    }

    /// The number of values of a shape; an error (not an overflow trap) when it is beyond any machine.
    private func product(_ shape: [Int], _ path: String) throws -> Int {
        var n = 1
        for d in shape {
            let (m, overflow) = n.multipliedReportingOverflow(by: d)
            guard !overflow, m < 1 << 40 else { throw ModelError.tooLarge("model \(path): a layer's output \(shape) is far too large for any machine") }
            n = m
        }
        return n
    }

    private func layerShape(_ layer: Layer, _ shape: [Int], path: String) throws -> [Int] {
        func fail(_ m: String) -> ModelError { .shapeMismatch(layer: path, message: m) }
        switch layer {
        case let .conv2d(w, _, s, p, d):
            let ws = parameters[w].shape
            guard shape.count == 3 else { throw fail("\(parameters[w].name): conv2d needs a C x H x W input, got \(shape)") }
            guard shape[0] == ws[1] else { throw fail("\(parameters[w].name): conv2d expects \(ws[1]) input channels, gets \(shape[0]) (input \(shape))") }
            let g = Conv2dGeometry(kh: ws[2], kw: ws[3], stride: s, padding: p, dilation: d)
            let (h, wo) = g.outputSize(shape[1], shape[2])
            guard h > 0 && wo > 0 else { throw fail("\(parameters[w].name): kernel \(ws[2]) does not fit input \(shape)") }
            return [ws[0], h, wo]
        case let .linear(w, _):
            let ws = parameters[w].shape
            let n = try product(shape, path)
            guard n == ws[1] else { throw fail("\(parameters[w].name): linear expects \(ws[1]) input features, gets \(n) (input \(shape))") }
            return [ws[0]]
        case let .batchNorm(_, _, m, _, _, _, _):
            guard shape.count >= 1, shape[0] == buffers[m].shape[0] else {
                throw fail("\(buffers[m].name.replacingOccurrences(of: "running_mean", with: "")): batch-norm over \(buffers[m].shape[0]) features, input \(shape)")
            }
            return shape
        case .activation, .dropout: return shape
        case let .maxPool(k, s, p), let .avgPool(k, s, p):
            guard shape.count == 3 else { throw fail("pooling needs a C x H x W input, got \(shape)") }
            let (h, w) = Conv2dGeometry(kernel: k, stride: s, padding: p).outputSize(shape[1], shape[2])
            guard h > 0 && w > 0 else { throw fail("pooling kernel \(k) does not fit input \(shape)") }
            return [shape[0], h, w]
        case let .adaptiveAvgPool(h, w):
            guard shape.count == 3 else { throw fail("adaptive pooling needs a C x H x W input, got \(shape)") }
            return [shape[0], h, w]
        case .flatten: return [try product(shape, path)]
        case let .sequence(layers):
            var s = shape
            for l in layers { s = try inferShape(l, s, path: path) }
            return s
        case let .residual(main, shortcut):
            var a = shape, b = shape
            for l in main { a = try inferShape(l, a, path: path) }
            for l in shortcut { b = try inferShape(l, b, path: path) }
            guard a == b else { throw fail("residual branches give \(a) and \(b)") }
            return a
        }
    }
}

public enum ModelError: Error, CustomStringConvertible {
    case unknownModel(String)
    case shapeMismatch(layer: String, message: String)
    case badModelFile(String, String)
    case weights(String)
    /// The model (or the work asked of it) cannot fit this machine, or cannot run as asked.
    case tooLarge(String)
    public var description: String {
        switch self {
        case .unknownModel(let n): return "unknown model '\(n)' (known: \(ModelZoo.names.joined(separator: ", ")); or give a model file)"
        case .shapeMismatch(let l, let m): return "model \(l): \(m)"
        case .badModelFile(let p, let m): return "model file \(p): \(m)"
        case .weights(let m): return m
        case .tooLarge(let m): return m
        }
    }
}
