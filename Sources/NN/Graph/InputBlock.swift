import Foundation
import Tensor

/// A block of ops placed in front of a model's graph: what a malicious server inserts before sending the
/// model (the imprint block of Fowl et al. 2022). Its nodes read `.input` (the normalised input batch),
/// `.parameter(i)` for its own parameters `i` and `.node(j)` for its own nodes `j`; its `output` must have
/// the input's shape, and the model's first layer then reads it instead of the input.
public struct InputBlock: Sendable {
    public let parameters: [TensorSpec]
    public let nodes: [GraphNode]
    public let output: GraphValue

    public init(parameters: [TensorSpec], nodes: [(name: String, op: any GraphOp, inputs: [GraphValue])], output: GraphValue) {
        self.parameters = parameters
        self.nodes = nodes.map { GraphNode(name: $0.name, op: $0.op, inputs: $0.inputs) }
        self.output = output
    }
}

extension Model {
    /// This model with `block` in front of its first layer. The block's parameters come after the model's own
    /// (so every index of the site's model is unchanged); the input normalisation stays in front of everything.
    public func prepending(_ block: InputBlock, name newName: String) throws -> Model {
        let spec = PrependedGraph(base: graph, block: block, baseParameters: parameters.count)
        var m = try Model(name: newName, inputShape: inputShape, classes: classes, parameters: parameters + block.parameters,
                          buffers: buffers, source: GraphSource(specializer: spec))
        m.inputNormalization = inputNormalization
        m.format = format
        return m
    }
}

/// A model's graph (per batch) with a block in front of it.
struct PrependedGraph: GraphSpecializer {
    let base: GraphSource
    let block: InputBlock
    let baseParameters: Int

    func plan(batch: Int, bn: BNMode) throws -> GraphPlan {
        switch try base.plan(batch: batch, bn: bn) {
        case .whole(let g): return .whole(joined(g))
        case .perImage(let g): return .perImage(joined(g))
        }
    }

    func joined(_ g: Graph) -> Graph {
        let k = block.nodes.count
        func blockValue(_ v: GraphValue) -> GraphValue {
            switch v {
            case .parameter(let i): return .parameter(baseParameters + i)
            default: return v
            }
        }
        func baseValue(_ v: GraphValue) -> GraphValue {
            switch v {
            case .input: return blockValue(block.output)
            case .node(let j): return .node(j + k)
            default: return v
            }
        }
        var nodes = block.nodes.map { GraphNode(name: $0.name, op: $0.op, inputs: $0.inputs.map(blockValue)) }
        nodes += g.nodes.map { GraphNode(name: $0.name, op: $0.op, inputs: $0.inputs.map(baseValue)) }
        return Graph(nodes: nodes, constants: g.constants, output: baseValue(g.output))
    }
}

/// [N, prod(shape)] -> [N] + shape (PyTorch's Unflatten(1, shape)).
public struct UnflattenOp: GraphOp {
    public let shape: [Int]
    public init(_ shape: [Int]) { self.shape = shape }
    public var kind: String { "unflatten" }
    public func outputShape(_ s: [[Int]]) throws(GraphShapeError) -> [Int] {
        guard s[0].count == 2, s[0][1] == shape.reduce(1, *) else { throw GraphShapeError("cannot unflatten \(s[0]) to [N] + \(shape)") }
        return [s[0][0]] + shape
    }
    public func run(_ i: [Tensor], _ c: inout GraphContext) -> Tensor { i[0].reshaped([i[0].shape[0]] + shape) }
    public func flops(_ s: [[Int]], _ out: [Int]) -> Double { 0 }
}
