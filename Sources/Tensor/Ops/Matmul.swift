import CBLAS
import Foundation

/// One BLAS thread per process thread: medpfl parallelises independent trials instead
/// (see ../shared/notes/swift-numerics.md: two OpenBLAS threads do not help small shapes).
public enum BLAS {
    /// OpenBLAS's thread count for this process (after the default of one thread, `Engine.configureNumerics`).
    public static func setThreads(_ n: Int) { Engine.configureNumerics(); openblas_set_num_threads(Int32(n)) }

    /// sum a[i] * b[i] of Float vectors, accumulated in Double (cblas_dsdot).
    @inline(__always) public static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Double {
        Engine.configureNumerics()
        return cblas_dsdot(Int32(count), a, 1, b, 1)
    }
    /// y += alpha * x on Float vectors (cblas_saxpy).
    @inline(__always) public static func axpy(_ alpha: Float, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int) {
        Engine.configureNumerics()
        cblas_saxpy(Int32(count), alpha, x, 1, y, 1)
    }
}

/// C = op(A) * op(B) on raw row-major storage, optionally accumulating (beta = 1).
///
/// A large product is cut along its larger output dimension into `OpThreads.parts` pieces (columns of C,
/// or rows), fixed by the shape alone, and the pieces run on the current thread's op threads. Every entry of
/// C is one piece's dot product over the whole of k, computed by one single-threaded sgemm call, so C is the
/// same bit for bit whatever the thread count (OpenBLAS's own threads would split k-panels by thread count).
@inline(__always)
func sgemm(_ transA: Bool, _ transB: Bool, m: Int, n: Int, k: Int,
           _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ c: UnsafeMutablePointer<Float>, beta: Float = 0) {
    Engine.configureNumerics()
    let lda = transA ? m : k, ldb = transB ? k : n
    let splitColumns = n >= m
    let parts = OpThreads.parts(size: splitColumns ? n : m, work: m &* n &* k, minWork: Sgemm.minWork, minPiece: Sgemm.minPiece)
    if parts == 1 {
        sgemmBlock(transA, transB, m: m, n: n, k: k, a, lda, b, ldb, c, n, beta: beta)
        return
    }
    OpThreads.forEach(parts) { i in
        let r = OpThreads.range(i, of: parts, size: splitColumns ? n : m, align: 16)
        guard !r.isEmpty else { return }
        if splitColumns {
            sgemmBlock(transA, transB, m: m, n: r.count, k: k, a, lda, b + (transB ? r.lowerBound * k : r.lowerBound), ldb,
                       c + r.lowerBound, n, beta: beta)
        } else {
            sgemmBlock(transA, transB, m: r.count, n: n, k: k, a + (transA ? r.lowerBound : r.lowerBound * k), lda, b, ldb,
                       c + r.lowerBound * n, n, beta: beta)
        }
    }
}

/// The fixed partition of `sgemm`: products of at least `minWork` multiply-adds, pieces of at least
/// `minPiece` rows or columns (repacking the other operand per piece then costs under 2% at one thread).
enum Sgemm {
    static let minWork = 1 << 22
    static let minPiece = 128
}

@inline(__always)
private func sgemmBlock(_ transA: Bool, _ transB: Bool, m: Int, n: Int, k: Int, _ a: UnsafePointer<Float>, _ lda: Int,
                        _ b: UnsafePointer<Float>, _ ldb: Int, _ c: UnsafeMutablePointer<Float>, _ ldc: Int, beta: Float) {
    cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                Int32(m), Int32(n), Int32(k), 1, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
}

/// Matrix product `op(a) x op(b)` where op transposes the last two dimensions when asked.
/// Rank 2 x rank 2, or rank 3 x rank 3 with equal batch (batched), or rank 3 x rank 2 (shared right side).
public func matmul(_ a: Tensor, _ b: Tensor, transposeA: Bool = false, transposeB: Bool = false) -> Tensor {
    precondition((a.rank == 2 || a.rank == 3) && (b.rank == 2 || b.rank == 3), "matmul of \(a.shape) and \(b.shape)")
    let batchA = a.rank == 3 ? a.shape[0] : 1, batchB = b.rank == 3 ? b.shape[0] : 1
    precondition(b.rank == 2 || batchA == batchB, "matmul batch sizes \(a.shape) and \(b.shape)")
    let ar = a.shape.suffix(2).map { $0 }, br = b.shape.suffix(2).map { $0 }
    let m = transposeA ? ar[1] : ar[0], k = transposeA ? ar[0] : ar[1]
    let k2 = transposeB ? br[1] : br[0], n = transposeB ? br[0] : br[1]
    precondition(k == k2, "matmul inner sizes differ: \(a.shape)\(transposeA ? "^T" : "") x \(b.shape)\(transposeB ? "^T" : "")")
    let batch = max(batchA, batchB)
    let out = Tensor(uninitializedShape: (a.rank == 3 || b.rank == 3 ? [batch] : []) + [m, n])
    let (pa, pb, po) = (a.storage, b.storage, out.storage)
    let strideA = batchA > 1 || a.rank == 3 ? m * k : 0, strideB = b.rank == 3 ? k * n : 0
    // A batch (the groups of a grouped convolution) runs its items on the op threads: disjoint outputs.
    let parallel = batch > 1 && batch * m * n * k >= Sgemm.minWork / 4
    let item = { (i: Int) in sgemm(transposeA, transposeB, m: m, n: n, k: k, pa + i * strideA, pb + i * strideB, po + i * m * n) }
    if parallel { OpThreads.forEach(batch, item) } else { for i in 0..<batch { item(i) } }
    return out.recording("matmul", [a, b]) { g, _, needs in
        var ga: Tensor? = nil, gb: Tensor? = nil
        if needs[0] {
            ga = transposeA ? matmul(b, g, transposeA: transposeB, transposeB: true)
                            : matmul(g, b, transposeA: false, transposeB: !transposeB)
        }
        if needs[1] {
            if b.rank == 2 && a.rank == 3 {
                // Shared right factor: sum the batch's contributions (fold the batch into rows).
                let gf = g.reshaped([batch * m, n])
                if transposeA {
                    // op(A)=A^T per batch: dB = sum_i A_i g_i -> fold via permute.
                    let at = a.permuted([0, 2, 1]).reshaped([batch * m, k])
                    gb = transposeB ? matmul(gf, at, transposeA: true) : matmul(at, gf, transposeA: true)
                } else {
                    let af = a.reshaped([batch * m, k])
                    gb = transposeB ? matmul(gf, af, transposeA: true) : matmul(af, gf, transposeA: true)
                }
            } else {
                gb = transposeB ? matmul(g, a, transposeA: true, transposeB: transposeA)
                                : matmul(a, g, transposeA: !transposeA, transposeB: false)
            }
        }
        return [ga, gb]
    }
}
