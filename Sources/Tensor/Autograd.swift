import Foundation

/// `backward(gradOut, out, needs)` returns one gradient per input (nil where `needs[i]` is false or the
/// input gets no gradient). It must be written with differentiable ops so that, when the graph of the
/// backward pass is recorded, gradients of gradients come out of the same rules.
public typealias BackwardRule = (_ gradOut: Tensor, _ out: Tensor, _ needs: [Bool]) -> [Tensor?]

@usableFromInline final class Node {
    let inputs: [Tensor]
    let backward: BackwardRule
    let name: StaticString
    init(_ name: StaticString, inputs: [Tensor], backward: @escaping BackwardRule) {
        self.name = name; self.inputs = inputs; self.backward = backward
    }
}

/// Whether ops record graph nodes on this thread (PyTorch's grad mode). Thread-local, so trials running
/// in parallel never see each other's setting.
public enum GradMode {
    private static let key: pthread_key_t = {
        var k = pthread_key_t()
        pthread_key_create(&k, nil)
        return k
    }()
    /// Recording is on unless a `withoutGrad` block is active on this thread.
    public static var isEnabled: Bool { pthread_getspecific(key) == nil }

    public static func withoutGrad<R>(_ body: () throws -> R) rethrows -> R {
        let previous = pthread_getspecific(key)
        pthread_setspecific(key, UnsafeRawPointer(bitPattern: 1))
        defer { pthread_setspecific(key, previous) }
        return try body()
    }
    static func with<R>(enabled: Bool, _ body: () throws -> R) rethrows -> R {
        let previous = pthread_getspecific(key)
        pthread_setspecific(key, enabled ? nil : UnsafeRawPointer(bitPattern: 1))
        defer { pthread_setspecific(key, previous) }
        return try body()
    }
}

extension Tensor {
    /// Attaches a node to a freshly computed result when grad mode is on and some input requires grad.
    @inline(__always) @usableFromInline
    func recording(_ name: StaticString, _ inputs: [Tensor], _ backward: @escaping BackwardRule) -> Tensor {
        if GradMode.isEnabled {
            for t in inputs where t.requiresGrad {
                requiresGrad = true
                node = Node(name, inputs: inputs, backward: backward)
                break
            }
        }
        return self
    }
}

public enum AutogradError: Error, CustomStringConvertible {
    case notScalar([Int])
    public var description: String {
        switch self {
        case .notScalar(let s): return "grad(of:) needs a scalar output, got shape \(s)"
        }
    }
}

/// Gradients of the scalar `output` with respect to each tensor in `inputs`
/// (zeros for an input that `output` does not depend on).
///
/// With `createGraph: true` the returned gradients are themselves graph values whose gradients can be
/// taken again (double backward). Only paths that lead to `inputs` are evaluated.
public func grad(of output: Tensor, wrt inputs: [Tensor], seed: Tensor? = nil, createGraph: Bool = false) -> [Tensor] {
    precondition(seed != nil || output.count == 1, "grad(of:) needs a scalar output, got shape \(output.shape)")
    // Topological order (inputs before outputs) by an iterative DFS; each tensor gets one slot.
    // slot: -1 while a tensor is being visited, then its position in `order`.
    var slot: [ObjectIdentifier: Int] = [:]
    slot.reserveCapacity(512)
    var order: [Tensor] = []
    order.reserveCapacity(512)
    var reaches: [Bool] = []
    reaches.reserveCapacity(512)
    let wanted = Set(inputs.map { ObjectIdentifier($0) })
    var stack: [(Tensor, Int)] = [(output, 0)]
    while let (t, i) = stack.popLast() {
        let id = ObjectIdentifier(t)
        if i == 0 {
            if slot[id] != nil { continue }
            slot[id] = -1
        }
        if let node = t.node, i < node.inputs.count {
            stack.append((t, i + 1))
            let child = node.inputs[i]
            if child.requiresGrad && slot[ObjectIdentifier(child)] == nil { stack.append((child, 0)) }
            continue
        }
        var r = wanted.contains(id)
        if !r, let node = t.node {
            for c in node.inputs where c.requiresGrad {
                if let k = slot[ObjectIdentifier(c)], k >= 0, reaches[k] { r = true; break }
            }
        }
        slot[id] = order.count
        order.append(t)
        reaches.append(r)
    }
    let wantedSlots = inputs.map { slot[ObjectIdentifier($0)] ?? -1 }
    var isWanted = [Bool](repeating: false, count: order.count)
    for s in wantedSlots where s >= 0 { isWanted[s] = true }

    return GradMode.with(enabled: createGraph) {
        var grads = [Tensor?](repeating: nil, count: order.count)
        var needs: [Bool] = [], childSlots: [Int] = []
        needs.reserveCapacity(8); childSlots.reserveCapacity(8)
        grads[order.count - 1] = seed ?? Tensor(shape: output.shape, repeating: 1)
        for s in stride(from: order.count - 1, through: 0, by: -1) {
            let t = order[s]
            guard let node = t.node, reaches[s], let g = grads[s] else { continue }
            if !isWanted[s] { grads[s] = nil }  // free intermediate gradients early
            needs.removeAll(keepingCapacity: true); childSlots.removeAll(keepingCapacity: true)
            var any = false
            for c in node.inputs {
                if c.requiresGrad, let cs = slot[ObjectIdentifier(c)], cs >= 0, reaches[cs] {
                    needs.append(true); childSlots.append(cs); any = true
                } else {
                    needs.append(false); childSlots.append(-1)
                }
            }
            if !any { continue }
            let parts = node.backward(g, t, needs)
            for k in node.inputs.indices where needs[k] {
                guard let gc = parts[k] else { continue }
                precondition(gc.shape == node.inputs[k].shape, "backward of \(node.name) gave \(gc.shape) for input \(node.inputs[k].shape)")
                let cs = childSlots[k]
                guard var prev = grads[cs] else { grads[cs] = gc; continue }
                grads[cs] = nil
                // Without a graph to record, a sum that nothing else holds (no other slot, rule or view) is added
                // into in place: the same bits as `prev + gc`, one buffer and one pass less.
                if !createGraph && prev.owner == nil && isKnownUniquelyReferenced(&prev) {
                    prev.accumulate(gc)
                    grads[cs] = prev
                } else {
                    grads[cs] = prev + gc
                }
            }
        }
        return inputs.indices.map { k in wantedSlots[k] >= 0 ? (grads[wantedSlots[k]] ?? Tensor.zeros(inputs[k].shape)) : Tensor.zeros(inputs[k].shape) }
    }
}
