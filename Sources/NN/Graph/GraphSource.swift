import Foundation
import Tensor

/// How a batch runs through a model's graph.
public enum GraphPlan: Sendable {
    /// The whole batch through one graph.
    case whole(Graph)
    /// Image by image through a graph made for a batch of one, outputs joined along the batch axis: exact
    /// when nothing in the graph mixes images (no batch norm in train mode), for graphs exported with a fixed
    /// batch whose shapes cannot be re-derived.
    case perImage(Graph)
}

/// A graph whose shapes depend on the batch size (an ONNX import): made, checked and kept per batch.
public protocol GraphSpecializer: Sendable {
    func plan(batch: Int, bn: BNMode) throws -> GraphPlan
}

/// A model's graph: one for every batch (built models), or one made per batch size (ONNX imports).
/// `@unchecked Sendable`: the cache is read and written only under `lock`; graphs are immutable values.
public final class GraphSource: @unchecked Sendable {
    private let fixed: Graph?
    private let specializer: (any GraphSpecializer)?
    private let lock = NSLock()
    private var cache: [String: GraphPlan] = [:]

    public init(fixed graph: Graph) { fixed = graph; specializer = nil }
    public init(specializer: any GraphSpecializer) { fixed = nil; self.specializer = specializer }

    /// The plan for `batch` images, or an error saying why this graph cannot run them.
    public func plan(batch: Int, bn: BNMode) throws -> GraphPlan {
        if let g = fixed { return .whole(g) }
        let key = "\(batch)/\(bn.rawValue)"
        lock.lock()
        if let p = cache[key] { lock.unlock(); return p }
        lock.unlock()
        let p = try specializer!.plan(batch: batch, bn: bn)
        lock.lock(); cache[key] = p; lock.unlock()
        return p
    }

    /// The graph for a batch of one (shapes, counts and FLOPs per image).
    func single() throws -> Graph {
        switch try plan(batch: 1, bn: .eval) {
        case .whole(let g), .perImage(let g): return g
        }
    }
}

extension GraphPlan {
    /// The penultimate-layer features of `x` (`Graph.penultimate`), flattened per image, [B, D]; the logits
    /// for a graph that does not end in a linear layer. BN in eval mode: the features of each image alone.
    func features(_ x: Tensor, params: [Tensor], buffers: [Tensor]) -> Tensor {
        let g: Graph
        switch self { case .whole(let w), .perImage(let w): g = w }
        let tap = g.penultimate ?? g.output
        var outs: [Tensor] = []
        let images: [Tensor]
        switch self {
        case .whole: images = [x]
        case .perImage: images = (0..<x.shape[0]).map { x.slice(axis: 0, $0 ..< $0 + 1) }
        }
        for im in images {
            let (y, _) = g.run(im, params: params, buffers: buffers, bn: .eval, reading: tap)
            outs.append(y.reshaped([y.shape[0], y.count / Swift.max(y.shape[0], 1)]))
        }
        return outs.count == 1 ? outs[0] : concat(outs, axis: 0)
    }

    func run(_ x: Tensor, params: [Tensor], buffers: [Tensor], bn: BNMode) -> (Tensor, [Tensor]) {
        switch self {
        case .whole(let g): return g.run(x, params: params, buffers: buffers, bn: bn)
        case .perImage(let g):
            var outs: [Tensor] = []
            var b = buffers
            for i in 0..<x.shape[0] {
                let (y, nb) = g.run(x.slice(axis: 0, i ..< i + 1), params: params, buffers: b, bn: bn)
                outs.append(y); b = nb
            }
            return (outs.count == 1 ? outs[0] : concat(outs, axis: 0), b)
        }
    }
}
