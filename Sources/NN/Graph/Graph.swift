import Foundation
import Tensor

/// Where a node's input comes from.
public enum GraphValue: Sendable, Hashable {
    /// The network's input batch (after the site's input normalisation).
    case input
    /// A trainable tensor of the model (`Model.parameters[i]`).
    case parameter(Int)
    /// A buffer of the model (`Model.buffers[i]`: running statistics).
    case buffer(Int)
    /// A fixed tensor of the graph (`Graph.constants[i]`), never trained.
    case constant(Int)
    /// The output of node i.
    case node(Int)
}

/// One op of a model graph: a plug-in. Adding an op is one type conforming to this protocol (forward written
/// with differentiable Tensor ops, so every derivative order comes from the engine) plus, to import it from
/// ONNX, one line in `OnnxOps.registry`.
public protocol GraphOp: Sendable {
    /// The op's name in counts and errors: conv2d, linear, batchNorm, relu, add, concat, ...
    var kind: String { get }
    /// The output shape (batch included) for inputs of these shapes, or an error message.
    func outputShape(_ inputs: [[Int]]) throws(GraphShapeError) -> [Int]
    /// The output, differentiable (twice) in every input.
    func run(_ inputs: [Tensor], _ context: inout GraphContext) -> Tensor
    /// Floating-point operations of one run (a multiply-add counts 2).
    func flops(_ inputs: [[Int]], _ output: [Int]) -> Double
}

extension GraphOp {
    public func flops(_ inputs: [[Int]], _ output: [Int]) -> Double { Double(output.reduce(1, *)) }
}

/// Why an op cannot take its inputs.
public struct GraphShapeError: Error, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// What a run of the graph can change: the buffers (batch norm's running statistics in train mode).
public struct GraphContext {
    public var buffers: [Tensor]
    public let bn: BNMode
    public init(buffers: [Tensor], bn: BNMode) { self.buffers = buffers; self.bn = bn }
}

public struct GraphNode: Sendable {
    /// The node's name: the PyTorch module path for built models, the ONNX node name for imported ones.
    public let name: String
    public let op: any GraphOp
    public let inputs: [GraphValue]
}

/// A model as a directed acyclic graph of ops, nodes in topological order (every input of node i is the
/// network input, a parameter, a buffer, a constant or a node before i).
public struct Graph: Sendable {
    public let nodes: [GraphNode]
    public let constants: [Tensor]
    public let output: GraphValue

    public init(nodes: [GraphNode], constants: [Tensor], output: GraphValue) {
        for (i, n) in nodes.enumerated() {
            for v in n.inputs { if case .node(let j) = v { precondition(j < i, "graph node \(n.name) reads node \(j) before it exists") } }
        }
        self.nodes = nodes; self.constants = constants; self.output = output
    }

    /// Runs the graph on `input`; `buffers` come back updated in BN train mode.
    public func run(_ input: Tensor, params: [Tensor], buffers: [Tensor], bn: BNMode) -> (Tensor, [Tensor]) {
        run(input, params: params, buffers: buffers, bn: bn, reading: output)
    }

    /// The value the classifier's last layer reads: the input of the output node when that node is a linear
    /// (or ONNX Gemm/MatMul) layer — the penultimate-layer features an attacker holding the model can compute for
    /// any image; nil for a graph that does not end in one.
    public var penultimate: GraphValue? {
        guard case .node(let k) = output, ["linear", "matmul"].contains(nodes[k].op.kind), let first = nodes[k].inputs.first else { return nil }
        return first
    }

    /// Runs the graph and returns the value `reading` names (a node's output, or the output).
    public func run(_ input: Tensor, params: [Tensor], buffers: [Tensor], bn: BNMode, reading: GraphValue) -> (Tensor, [Tensor]) {
        var context = GraphContext(buffers: buffers, bn: bn)
        var values: [Tensor] = []
        values.reserveCapacity(nodes.count)
        func value(_ v: GraphValue) -> Tensor {
            switch v {
            case .input: return input
            case .parameter(let i): return params[i]
            case .buffer(let i): return context.buffers[i]
            case .constant(let i): return constants[i]
            case .node(let i): return values[i]
            }
        }
        let last: Int
        if case .node(let k) = reading { last = k } else { last = nodes.count - 1 }
        for node in nodes.prefix(last + 1) {
            let ins = node.inputs.map(value)
            values.append(node.op.run(ins, &context))
        }
        return (value(reading), context.buffers)
    }

    /// Shapes of every node's output for an input of `inputShape` (batch included); errors name the node.
    public func shapes(input inputShape: [Int], parameters: [[Int]], buffers: [[Int]]) throws -> [[Int]] {
        var out: [[Int]] = []
        out.reserveCapacity(nodes.count)
        for node in nodes {
            let ins = node.inputs.map { v -> [Int] in
                switch v {
                case .input: return inputShape
                case .parameter(let i): return parameters[i]
                case .buffer(let i): return buffers[i]
                case .constant(let i): return constants[i].shape
                case .node(let i): return out[i]
                }
            }
            do { out.append(try node.op.outputShape(ins)) } catch {
                throw ModelError.shapeMismatch(layer: node.name, message: "\(node.op.kind) \(error.message) (input shapes \(ins.map { "\($0)" }.joined(separator: ", ")))")
            }
            let n = out.last!.reduce(1.0) { $0 * Double($1) }
            guard n < Double(1 << 40) else { throw ModelError.tooLarge("model node \(node.name): its output \(out.last!) is far too large for any machine") }
        }
        return out
    }
}
