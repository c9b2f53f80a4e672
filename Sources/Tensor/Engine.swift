import CBLAS
import Foundation

/// Process-wide settings for fast, reproducible numerics.
///
/// What a result depends on (measured with OpenBLAS 0.3.21 on the 2-core AMD EPYC machines this project
/// runs on; see README, "Reproducibility"): the BLAS kernel OpenBLAS picks for the CPU (Haswell, Zen,
/// SkylakeX or Cooperlake: sgemm and dot products round differently on each), and OpenBLAS's own thread
/// count (a 2-thread sgemm splits the product differently from a 1-thread one and rounds differently).
/// It does not depend on the alignment of the buffers handed to BLAS (dot products of the same values at
/// offsets 0-3 floats agree bit for bit on every kernel), and medpfl has no parallel reduction: parallel
/// work is independent jobs whose results are combined in job order.
public enum Engine {
    /// One BLAS thread, set before this library's first BLAS call, whoever the caller is (the command-line
    /// tool, a test, another program): every computation runs with the same threading, so a test computes
    /// exactly what the CLI computes. `BLAS.setThreads` can change it afterwards.
    static let numerics: Void = { openblas_set_num_threads(1) }()

    /// The BLAS threading of every medpfl computation (one thread); applied automatically on first use.
    public static func configureNumerics() { _ = numerics }

    /// OpenBLAS's current thread count.
    public static var blasThreads: Int { Int(openblas_get_num_threads()) }

    /// The BLAS kernel OpenBLAS chose for this CPU (e.g. "Haswell", "SkylakeX", "Zen"): results computed
    /// on machines whose kernels differ may differ in the last bits, and a long chaotic optimisation can
    /// then end elsewhere.
    public static var blasCore: String {
        guard let p = openblas_get_corename() else { return "unknown" }
        return String(cString: p).trimmingCharacters(in: .whitespaces)
    }

    /// One BLAS thread (independent trials run in parallel instead), and a malloc that keeps freed
    /// memory: an evaluation allocates and frees hundreds of tensors, and glibc's default trimming
    /// returns the heap top to the kernel after each, so every evaluation page-faults it back
    /// (measured: lenet double backward 0.44 ms median with trimming, 0.28 ms without).
    /// The trim threshold is off altogether (-1 is SIZE_MAX to glibc): with a 1 GiB threshold a 224-px batch of 8
    /// (a 3 GiB peak) freed more than 1 GiB at the end of every iteration, glibc returned it, and the next
    /// iteration page-faulted 1.8 GB back (443 K minor faults per resnet18 iteration, medpfl 0.75x PyTorch at one
    /// thread). The heap then stays at the process's peak, which the memory estimate already bounds.
    /// The malloc settings change speed only, never a result.
    public static func configureForThroughput() {
        configureNumerics()
        #if os(Linux)
        mallopt(M_TRIM_THRESHOLD, -1)
        mallopt(M_TOP_PAD, 64 << 20)
        mallopt(M_MMAP_THRESHOLD, 256 << 20)
        #endif
    }
}
