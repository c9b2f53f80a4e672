import Foundation
import SafeIO
import Tensor

/// Builds a model graph node by node while its state-dict specs accumulate in PyTorch registration order
/// (the zoo and Sequential model files use it; ONNX import makes the same `Graph`).
///
/// ```swift
/// let b = ModelBuilder()
/// var x = b.conv("conv1.", b.input, 3, 64, kernel: 7, stride: 2, padding: 3, bias: false)
/// x = b.apply(.relu, b.batchNorm("bn1.", x, 64))
/// ```
public final class ModelBuilder {
    public private(set) var parameters: [TensorSpec] = []
    public private(set) var buffers: [TensorSpec] = []
    private var nodes: [GraphNode] = []
    private var constants: [Tensor] = []
    public init() {}

    /// The network's input batch.
    public var input: GraphValue { .input }

    func param(_ name: String, _ shape: [Int], _ initializer: Initializer) -> Int {
        parameters.append(TensorSpec(name: name, shape: shape, isParameter: true, initializer: initializer))
        return parameters.count - 1
    }
    func buffer(_ name: String, _ shape: [Int], _ initializer: Initializer) -> Int {
        buffers.append(TensorSpec(name: name, shape: shape, isParameter: false, initializer: initializer))
        return buffers.count - 1
    }

    /// Appends a node; its name is the module path (without the trailing dot).
    @discardableResult
    public func node(_ op: any GraphOp, _ inputs: [GraphValue], name: String) -> GraphValue {
        nodes.append(GraphNode(name: name.hasSuffix(".") ? String(name.dropLast()) : name, op: op, inputs: inputs))
        return .node(nodes.count - 1)
    }

    /// PyTorch's default for Conv2d/Linear: kaiming_uniform(a = sqrt(5)) = U(-1/sqrt(fan_in), 1/sqrt(fan_in)),
    /// and the same bound for the bias.
    public static func torchDefault(fanIn: Int) -> Initializer {
        let b = 1 / Float(fanIn).squareRoot()
        return .uniform(-b, b)
    }

    public func conv(_ prefix: String, _ x: GraphValue, _ cin: Int, _ cout: Int, kernel: Int, stride: Int = 1, padding: Int = 0,
                     dilation: Int = 1, groups: Int = 1, bias: Bool = true,
                     weightInit: Initializer? = nil, biasInit: Initializer? = nil) -> GraphValue {
        let fanIn = cin / groups * kernel * kernel
        let w = param(prefix + "weight", [cout, cin / groups, kernel, kernel], weightInit ?? Self.torchDefault(fanIn: fanIn))
        var inputs: [GraphValue] = [x, .parameter(w)]
        if bias { inputs.append(.parameter(param(prefix + "bias", [cout], biasInit ?? Self.torchDefault(fanIn: fanIn)))) }
        return node(Conv2dOp(stride: stride, padding: padding, dilation: dilation, groups: groups), inputs, name: prefix)
    }

    public func linear(_ prefix: String, _ x: GraphValue, _ fin: Int, _ fout: Int, bias: Bool = true,
                       weightInit: Initializer? = nil, biasInit: Initializer? = nil) -> GraphValue {
        let w = param(prefix + "weight", [fout, fin], weightInit ?? Self.torchDefault(fanIn: fin))
        var inputs: [GraphValue] = [x, .parameter(w)]
        if bias { inputs.append(.parameter(param(prefix + "bias", [fout], biasInit ?? Self.torchDefault(fanIn: fin)))) }
        return node(LinearOp(), inputs, name: prefix)
    }

    public func batchNorm(_ prefix: String, _ x: GraphValue, _ features: Int, eps: Float = 1e-5, momentum: Float = 0.1,
                          affine: Bool = true) -> GraphValue {
        var inputs: [GraphValue] = [x]
        if affine {
            inputs.append(.parameter(param(prefix + "weight", [features], .constant(1))))
            inputs.append(.parameter(param(prefix + "bias", [features], .constant(0))))
        }
        let m = buffer(prefix + "running_mean", [features], .constant(0))
        let v = buffer(prefix + "running_var", [features], .constant(1))
        let n = buffer(prefix + "num_batches_tracked", [], .constant(0))
        return node(BatchNormOp(affine: affine, eps: eps, momentum: momentum, mean: m, variance: v, batches: n),
                    inputs + [.buffer(m), .buffer(v)], name: prefix)
    }

    public func apply(_ f: UnaryFunction, _ x: GraphValue, name: String = "") -> GraphValue { node(UnaryOp(f), [x], name: name) }
    public func add(_ a: GraphValue, _ b: GraphValue, name: String = "") -> GraphValue { node(BinaryOp(.add), [a, b], name: name) }
    public func mul(_ a: GraphValue, _ b: GraphValue, name: String = "") -> GraphValue { node(BinaryOp(.mul), [a, b], name: name) }
    public func pool(_ kind: PoolKind, _ x: GraphValue, kernel: Int, stride: Int? = nil, padding: Int = 0, name: String = "") -> GraphValue {
        node(Pool2dOp(kind, kernel: kernel, stride: stride ?? kernel, padding: padding), [x], name: name)
    }
    public func adaptiveAvgPool(_ x: GraphValue, _ h: Int = 1, _ w: Int = 1, name: String = "") -> GraphValue {
        node(AdaptiveAvgPoolOp(h, w), [x], name: name)
    }
    public func flatten(_ x: GraphValue, name: String = "") -> GraphValue { node(FlattenOp(axis: 1), [x], name: name) }
    public func concat(_ xs: [GraphValue], axis: Int, name: String = "") -> GraphValue { node(ConcatOp(axis: axis), xs, name: name) }
    public func constant(_ t: Tensor) -> GraphValue { constants.append(t.detached()); return .constant(constants.count - 1) }

    public func build(name: String, inputShape: [Int], classes: Int, output: GraphValue) throws -> Model {
        let graph = Graph(nodes: nodes, constants: constants, output: output)
        return try Model(name: name, inputShape: inputShape, classes: classes, parameters: parameters, buffers: buffers,
                         source: GraphSource(fixed: graph))
    }
}

/// What a model's graph tells about it: computed once from the shapes of a batch of one.
struct GraphAnalysis {
    var activationValues = 0.0
    var smallestBatchNormPlane: Int? = nil
    var opCounts: [String: Int] = [:]
    var forwardFLOPs = 0.0
    var classifierWeight: Int? = nil
    var classifierBias: Int? = nil
    var firstLinear: (weight: Int, bias: Int)? = nil

    /// Kinds that only relabel or copy values (no activation of their own is kept).
    static let views: Set<String> = ["reshape", "flatten", "squeeze", "unsqueeze", "identity", "dropout", "unflatten"]

    init(_ graph: Graph, inputShape: [Int], parameters: [TensorSpec], buffers: [TensorSpec], name: String) throws {
        let shapes = try graph.shapes(input: [1] + inputShape, parameters: parameters.map(\.shape), buffers: buffers.map(\.shape))
        for (i, node) in graph.nodes.enumerated() {
            let ins = node.inputs.map { v -> [Int] in
                switch v {
                case .input: return [1] + inputShape
                case .parameter(let p): return parameters[p].shape
                case .buffer(let b): return buffers[b].shape
                case .constant(let c): return graph.constants[c].shape
                case .node(let j): return shapes[j]
                }
            }
            opCounts[node.op.kind, default: 0] += 1
            forwardFLOPs += node.op.flops(ins, shapes[i])
            if !Self.views.contains(node.op.kind) { activationValues += shapes[i].reduce(1.0) { $0 * Double($1) } }
            if node.op is BatchNormOp {
                let plane = ins[0].dropFirst(2).reduce(1, *)
                smallestBatchNormPlane = min(smallestBatchNormPlane ?? plane, plane)
            }
            if node.op is LinearOp, case .parameter(let w) = node.inputs[1] {
                classifierWeight = w
                if node.inputs.count > 2, case .parameter(let b) = node.inputs[2] { classifierBias = b } else { classifierBias = nil }
            }
        }
        // The analytic attack needs the input to reach a fully connected layer with a bias through views only.
        var at: GraphValue = .input
        walk: while true {
            let users = graph.nodes.indices.filter { graph.nodes[$0].inputs.contains(at) }
            guard users.count == 1 else { break }
            let n = graph.nodes[users[0]]
            if Self.views.contains(n.op.kind) { at = .node(users[0]); continue }
            if n.op is LinearOp, n.inputs.first == at, n.inputs.count == 3, case .parameter(let w) = n.inputs[1], case .parameter(let b) = n.inputs[2] {
                firstLinear = (w, b)
            }
            break walk
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
