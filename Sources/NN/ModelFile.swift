import Foundation
import SafeIO
import Tensor
import Yams

/// A site's own architecture: a YAML file listing an `nn.Sequential` stack, so that
/// `torch.save(nn.Sequential(...).state_dict())` exported to safetensors loads unchanged
/// (keys `0.weight`, `1.running_mean`, ... numbered by position in the list).
///
/// ```yaml
/// name: site-cnn          # optional
/// input: [3, 32, 32]      # C, H, W
/// classes: 6
/// layers:
///   - conv2d: {in: 3, out: 16, kernel: 3, stride: 1, padding: 1, bias: true}
///   - batchnorm2d: {features: 16, eps: 1.0e-5, momentum: 0.1}
///   - relu
///   - maxpool2d: {kernel: 2, stride: 2}
///   - leakyrelu: {slope: 0.1}
///   - avgpool2d: {kernel: 2, stride: 2}
///   - tanh
///   - sigmoid
///   - flatten
///   - dropout: {p: 0.5}   # identity when updates are computed
///   - linear: {in: 512, out: 64, bias: true}
/// ```
/// Layer names are case-insensitive; PyTorch class names (`Conv2d`, `BatchNorm2d`, `LeakyReLU`) work too.
public enum ModelFile {
    /// A model file: an ONNX export (`.onnx`) or a Sequential YAML description.
    public static func load(_ path: String) throws -> Model {
        if OnnxFile.isOnnx(path) { return try OnnxFile.load(path) }
        let data: Data
        do { data = try BoundedFile.read(path, limit: BoundedFile.Limit.text, what: "model file") } catch let e as FileError {
            throw ModelError.badModelFile(path, e.problem)
        }
        guard let text = String(data: data, encoding: .utf8) else { throw ModelError.badModelFile(path, "is not UTF-8 text") }
        guard !text.contains("\u{0}") else { throw ModelError.badModelFile(path, "holds a NUL byte") }
        return try parse(text, source: path)
    }

    public static func parse(_ text: String, source: String) throws -> Model {
        func fail(_ m: String) -> ModelError { .badModelFile(source, m) }
        let root: Any?
        do { root = try Yams.load(yaml: text) } catch { throw fail("not valid YAML (\(String(describing: error).split(separator: "\n").first ?? ""))") }
        guard let doc = root as? [String: Any] else { throw fail("the top level must be a mapping with input, classes and layers") }
        for k in doc.keys where !["name", "input", "classes", "layers"].contains(k) { throw fail("unknown key '\(k)' (allowed: name, input, classes, layers)") }
        guard let input = (doc["input"] as? [Any])?.compactMap({ $0 as? Int }), input.count == 3, input.allSatisfy({ $0 > 0 }) else {
            throw fail("'input' must be [channels, height, width] of positive integers")
        }
        guard input[0] <= 4096, input[1] <= ModelZoo.maximumSize, input[2] <= ModelZoo.maximumSize else {
            throw fail("'input' \(input) is larger than medpfl handles (at most 4096 channels and \(ModelZoo.maximumSize) pixels a side)")
        }
        guard let classes = doc["classes"] as? Int, classes >= 2 else { throw fail("'classes' must be an integer >= 2") }
        guard classes <= ModelZoo.maximumClasses else { throw fail("'classes' is \(classes), more than the \(ModelZoo.maximumClasses) medpfl handles") }
        guard let layers = doc["layers"] as? [Any], !layers.isEmpty else { throw fail("'layers' must be a non-empty list") }
        let b = ModelBuilder()
        var x = b.input
        for (i, entry) in layers.enumerated() {
            let kind: String
            var opts: [String: Any] = [:]
            if let s = entry as? String { kind = s }
            else if let m = entry as? [String: Any], m.count == 1, let (k, v) = m.first.map({ ($0.key, $0.value) }) {
                kind = k
                if let o = v as? [String: Any] { opts = o } else if !(v is NSNull) { throw fail("layer \(i) (\(k)): options must be a mapping") }
            } else { throw fail("layer \(i): expected a layer name or {name: {options}}") }
            let p = "\(i)."
            var used: Set<String> = []
            func int(_ k: String, _ def: Int? = nil) throws -> Int {
                used.insert(k)
                if let v = opts[k] {
                    guard let n = v as? Int, n >= 0 else { throw fail("layer \(i) (\(kind)): '\(k)' must be a non-negative integer") }
                    guard n <= 1 << 24 else { throw fail("layer \(i) (\(kind)): '\(k)' is \(n), beyond any model medpfl can hold") }
                    return n
                }
                if let d = def { return d }
                throw fail("layer \(i) (\(kind)): missing '\(k)'")
            }
            func float(_ k: String, _ def: Float) throws -> Float {
                used.insert(k)
                guard let v = opts[k] else { return def }
                if let d = v as? Double { return Float(d) }
                if let n = v as? Int { return Float(n) }
                throw fail("layer \(i) (\(kind)): '\(k)' must be a number")
            }
            func bool(_ k: String, _ def: Bool) throws -> Bool {
                used.insert(k)
                guard let v = opts[k] else { return def }
                guard let x = v as? Bool else { throw fail("layer \(i) (\(kind)): '\(k)' must be true or false") }
                return x
            }
            switch kind.lowercased() {
            case "conv2d":
                let cin = try int("in"), cout = try int("out"), k = try int("kernel")
                guard cin > 0, cout > 0, k > 0 else { throw fail("layer \(i) (conv2d): in, out and kernel must be positive") }
                let stride = try int("stride", 1)
                guard stride > 0 else { throw fail("layer \(i) (conv2d): stride must be positive") }
                let groups = max(1, try int("groups", 1))
                guard cin % groups == 0, cout % groups == 0 else { throw fail("layer \(i) (conv2d): groups \(groups) must divide in and out") }
                x = b.conv(p, x, cin, cout, kernel: k, stride: stride, padding: try int("padding", 0),
                           dilation: max(1, try int("dilation", 1)), groups: groups, bias: try bool("bias", true))
            case "linear":
                let fin = try int("in"), fout = try int("out")
                guard fin > 0, fout > 0 else { throw fail("layer \(i) (linear): in and out must be positive") }
                x = b.linear(p, x, fin, fout, bias: try bool("bias", true))
            case "batchnorm2d", "batchnorm1d", "batchnorm":
                let f = try int("features")
                guard f > 0 else { throw fail("layer \(i) (\(kind)): features must be positive") }
                x = b.batchNorm(p, x, f, eps: try float("eps", 1e-5), momentum: try float("momentum", 0.1), affine: try bool("affine", true))
            case "relu": x = b.apply(.relu, x, name: "\(i)")
            case "relu6": x = b.apply(.clip(0, 6), x, name: "\(i)")
            case "sigmoid": x = b.apply(.sigmoid, x, name: "\(i)")
            case "tanh": x = b.apply(.tanh, x, name: "\(i)")
            case "softplus": x = b.apply(.softplus, x, name: "\(i)")
            case "silu": x = b.apply(.silu, x, name: "\(i)")
            case "gelu": x = b.apply(.gelu, x, name: "\(i)")
            case "hardswish": x = b.apply(.hardSwish, x, name: "\(i)")
            case "leakyrelu":
                let s = opts["negative_slope"] != nil ? try float("negative_slope", 0.01) : try float("slope", 0.01)
                x = b.apply(.leakyRelu(s), x, name: "\(i)")
            case "maxpool2d":
                let k = try int("kernel")
                guard k > 0 else { throw fail("layer \(i) (maxpool2d): kernel must be positive") }
                let st = try int("stride", k)
                guard st > 0 else { throw fail("layer \(i) (maxpool2d): stride must be positive") }
                x = b.pool(.max, x, kernel: k, stride: st, padding: try int("padding", 0), name: "\(i)")
            case "avgpool2d":
                let k = try int("kernel")
                guard k > 0 else { throw fail("layer \(i) (avgpool2d): kernel must be positive") }
                let st = try int("stride", k)
                guard st > 0 else { throw fail("layer \(i) (avgpool2d): stride must be positive") }
                x = b.pool(.average, x, kernel: k, stride: st, padding: try int("padding", 0), name: "\(i)")
            case "adaptiveavgpool2d":
                let s = try int("size", 1)
                guard s > 0 else { throw fail("layer \(i) (adaptiveavgpool2d): size must be positive") }
                x = b.adaptiveAvgPool(x, s, s, name: "\(i)")
            case "flatten": x = b.flatten(x, name: "\(i)")
            case "dropout": _ = try float("p", 0.5); x = b.apply(.dropout, x, name: "\(i)")
            case "identity": x = b.apply(.identity, x, name: "\(i)")
            default:
                throw fail("layer \(i): unknown layer '\(kind)' (conv2d, linear, batchnorm2d, relu, relu6, leakyrelu, sigmoid, tanh, softplus, silu, gelu, hardswish, maxpool2d, avgpool2d, adaptiveavgpool2d, flatten, dropout, identity)")
            }
            for k in opts.keys where !used.contains(k) && !(kind.lowercased() == "leakyrelu" && k == "negative_slope") && k != "note" && k != "index" {
                throw fail("layer \(i) (\(kind)): unknown option '\(k)'")
            }
        }
        let name = (doc["name"] as? String) ?? URL(fileURLWithPath: source).deletingPathExtension().lastPathComponent
        do {
            var m = try b.build(name: name, inputShape: input, classes: classes, output: x)
            m.format = "model file"
            return m
        } catch let ModelError.shapeMismatch(layer, m) {
            throw fail(layer == name ? m : "layer \(layer): \(m)")
        }
    }
}

extension Model {
    /// The update a client sends in FedSGD: gradients of the mean cross-entropy over the batch with
    /// respect to every parameter (in `parameters` order). Buffers are not changed.
    public func gradients(images x: Tensor, labels: [Int], state: ModelState, bn: BNMode, createGraph: Bool = false) -> (loss: Float, grads: [Tensor]) {
        let params = createGraph ? state.parameters : state.parameters.map { $0.detached(requiresGrad: true) }
        let logits = forward(x, params: params, buffers: state.buffers, bn: bn).logits
        let loss = crossEntropy(logits, labels: labels)
        return (loss.scalar, grad(of: loss, wrt: params, createGraph: createGraph))
    }
}
