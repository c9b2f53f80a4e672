import Foundation

/// For convolutions with short or strided output rows (LeNet-sized layers, ResNet's last stages), a
/// precomputed gather table makes im2col one pass of `out[j] = x[index[j]]` (-1: zero padding) and
/// col2im the matching scatter-add, with none of the per-row bookkeeping of the row-copy kernels.
/// Tables are built once per input shape and geometry and shared by all threads.
/// `@unchecked Sendable`: safe because `index` is immutable after init; the shared cache is guarded by `lock`.
final class Im2colPlan: @unchecked Sendable {
    struct Key: Hashable { let n, c, h, w: Int; let g: Conv2dGeometry }
    let index: [Int32]
    /// Channels, and the entries of one channel's rows (the index is channel-major): threads split at channel bounds.
    let channels: Int, perChannel: Int

    // Safe: read and written only while holding `lock`.
    nonisolated(unsafe) private static var cache: [Key: Im2colPlan] = [:]
    private static let lock = NSLock()

    /// Worth it when rows are short (< 32) or strided; long stride-1 rows are copied with memcpy instead.
    static func applies(wo: Int, g: Conv2dGeometry) -> Bool { g.stride > 1 || wo < 32 }

    static func plan(n: Int, c: Int, h: Int, w: Int, g: Conv2dGeometry) -> Im2colPlan {
        let key = Key(n: n, c: c, h: h, w: w, g: g)
        lock.lock(); defer { lock.unlock() }
        if let p = cache[key] { return p }
        let p = Im2colPlan(n: n, c: c, h: h, w: w, g: g)
        if cache.count > 256 { cache.removeAll() }   // bound the memory a long-running process keeps
        cache[key] = p
        return p
    }

    private init(n: Int, c: Int, h: Int, w: Int, g: Conv2dGeometry) {
        let (ho, wo) = g.outputSize(h, w)
        let l = ho * wo
        var idx = [Int32](repeating: -1, count: c * g.kh * g.kw * n * l)
        idx.withUnsafeMutableBufferPointer { p in
            var j = 0
            for ci in 0..<c { for ki in 0..<g.kh { for kj in 0..<g.kw {
                for b in 0..<n {
                    let plane = (b * c + ci) * h * w
                    for oh in 0..<ho {
                        let ih = oh * g.stride - g.padding + ki * g.dilation
                        for ow in 0..<wo {
                            let iw = ow * g.stride - g.padding + kj * g.dilation
                            if ih >= 0 && ih < h && iw >= 0 && iw < w { p[j] = Int32(plane + ih * w + iw) }
                            j += 1
                        }
                    }
                }
            } } }
        }
        index = idx
        channels = c
        perChannel = g.kh * g.kw * n * l
    }

    /// Runs `body` on shape-fixed channel groups of the index on the op threads (disjoint outputs).
    private func byChannels(_ body: (Range<Int>) -> Void) {
        OpThreads.forPieces(size: channels, work: index.count, minWork: 2 * OpThreads.minElementwiseWork) { r in
            body(r.lowerBound * perChannel..<r.upperBound * perChannel)
        }
    }

    func gather(_ x: UnsafePointer<Float>, into col: UnsafeMutablePointer<Float>) {
        index.withUnsafeBufferPointer { ix in
            byChannels { js in
                for j in js {
                    let i = ix[j]
                    col[j] = i >= 0 ? x[Int(i)] : 0
                }
            }
        }
    }

    func scatterAdd(_ col: UnsafePointer<Float>, into x: UnsafeMutablePointer<Float>) {
        index.withUnsafeBufferPointer { ix in
            byChannels { js in
                for j in js {
                    let i = ix[j]
                    if i >= 0 { x[Int(i)] += col[j] }
                }
            }
        }
    }
}
