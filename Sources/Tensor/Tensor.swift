import Foundation
import Synchronization

/// A dense, row-major Float32 N-d array that can take part in reverse-mode autodiff.
///
/// Tensors are reference values whose contents never change after an op produced them; only leaves
/// (parameters, the attacker's dummy image) are updated in place by optimisers. An op's result records
/// a `Node` (its inputs and a backward rule written with differentiable ops), so the gradient of a
/// gradient is computed by the same machinery (`grad(of:wrt:createGraph:)`, like PyTorch's
/// `torch.autograd.grad(..., create_graph=True)`).
/// `@unchecked Sendable`: safe because a tensor's values are written only while it is being built (by the op
/// that creates it, or through `withUnsafeMutableBufferPointer` on a fresh copy the caller alone holds); once
/// shared it is read-only. `requiresGrad` and `node` are set at creation and read only by the graph walk of the
/// thread that built the graph (grad mode is thread-local; threads never share a graph under construction).
public final class Tensor: @unchecked Sendable {
    public let shape: [Int]
    public let count: Int
    @usableFromInline let storage: UnsafeMutablePointer<Float>
    /// For a reshaped view: the tensor that owns the memory (nil: this tensor owns and frees it).
    @usableFromInline let owner: Tensor?
    /// True for leaves the caller wants gradients of, and for results that depend on such leaves.
    public internal(set) var requiresGrad: Bool
    @usableFromInline var node: Node?

    /// Uninitialised storage; every op fills all of it.
    @usableFromInline init(uninitializedShape shape: [Int]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in \(shape)")
        self.shape = shape
        let n = shape.reduce(1, *)
        self.count = n
        // malloc's 16-byte alignment is enough for unaligned AVX loads; memalign costs more per call.
        self.storage = malloc(max(n, 1) * MemoryLayout<Float>.stride)!.bindMemory(to: Float.self, capacity: max(n, 1))
        if TensorAllocations.counting { TensorAllocations.record(bytes: n * MemoryLayout<Float>.stride) }
        self.owner = nil
        self.requiresGrad = false
        self.node = nil
    }

    /// A tensor of a new shape over the same memory (used by `reshaped`).
    @usableFromInline init(sharing other: Tensor, shape: [Int]) {
        self.shape = shape
        self.count = other.count
        self.owner = other.owner ?? other
        self.storage = other.storage
        self.requiresGrad = false
        self.node = nil
    }

    deinit { if owner == nil { free(storage) } }

    public convenience init(shape: [Int], data: [Float], requiresGrad: Bool = false) {
        precondition(shape.reduce(1, *) == data.count,
                     "Tensor: \(data.count) values do not fill shape \(shape)")
        self.init(uninitializedShape: shape)
        data.withUnsafeBufferPointer { storage.update(from: $0.baseAddress!, count: count) }
        self.requiresGrad = requiresGrad
    }

    public convenience init(shape: [Int], repeating value: Float, requiresGrad: Bool = false) {
        self.init(uninitializedShape: shape)
        storage.update(repeating: value, count: count)
        self.requiresGrad = requiresGrad
    }

    public convenience init(_ scalar: Float) { self.init(shape: [], repeating: scalar) }

    public static func zeros(_ shape: [Int]) -> Tensor { Tensor(shape: shape, repeating: 0) }
    public static func ones(_ shape: [Int]) -> Tensor { Tensor(shape: shape, repeating: 1) }

    public var rank: Int { shape.count }
    public var scalars: [Float] { Array(UnsafeBufferPointer(start: storage, count: count)) }
    public var scalar: Float {
        precondition(count == 1, "scalar of a tensor with \(count) elements")
        return storage[0]
    }
    public subscript(flat i: Int) -> Float { storage[i] }

    /// Read-only view of the values (valid for the duration of `body`).
    @inlinable public func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Float>) throws -> R) rethrows -> R {
        try body(UnsafeBufferPointer(start: storage, count: count))
    }
    /// In-place update: for leaves only (optimiser steps, initialisation). Never call on an op result
    /// that a graph still uses.
    @inlinable public func withUnsafeMutableBufferPointer<R>(_ body: (UnsafeMutableBufferPointer<Float>) throws -> R) rethrows -> R {
        try body(UnsafeMutableBufferPointer(start: storage, count: count))
    }

    /// A leaf copy that shares nothing with this tensor's graph.
    public func detached(requiresGrad: Bool = false) -> Tensor {
        let t = Tensor(uninitializedShape: shape)
        t.storage.update(from: storage, count: count)
        t.requiresGrad = requiresGrad
        return t
    }

    /// Makes this tensor a leaf that gradients are taken with respect to.
    @discardableResult public func requiringGrad(_ flag: Bool = true) -> Tensor {
        precondition(node == nil, "requiringGrad on a non-leaf tensor")
        requiresGrad = flag
        return self
    }

    public var isLeaf: Bool { node == nil }
}

extension Tensor: CustomStringConvertible {
    public var description: String {
        let head = scalars.prefix(8).map { String(format: "%.5g", $0) }.joined(separator: ", ")
        return "Tensor(shape: \(shape), [\(head)\(count > 8 ? ", ..." : "")])"
    }
}

@inline(__always) func strides(of shape: [Int]) -> [Int] {
    var s = [Int](repeating: 1, count: shape.count)
    var acc = 1
    for i in stride(from: shape.count - 1, through: 0, by: -1) { s[i] = acc; acc *= shape[i] }
    return s
}

/// Counts the tensor buffers allocated while `counting` is on (`medpfl bench`: allocations per iteration).
/// Off by default: an atomic add per tensor would slow parallel trials.
public enum TensorAllocations {
    /// Set only while no computation runs (the bench sets it before its timed loop).
    nonisolated(unsafe) public static var counting = false
    private static let buffers = Atomic<Int>(0)
    private static let byteCount = Atomic<Int>(0)
    @usableFromInline static func record(bytes: Int) {
        buffers.wrappingAdd(1, ordering: .relaxed)
        byteCount.wrappingAdd(bytes, ordering: .relaxed)
    }
    /// Buffers and bytes allocated since counting began.
    public static var totals: (buffers: Int, bytes: Int) { (buffers.load(ordering: .relaxed), byteCount.load(ordering: .relaxed)) }
}
