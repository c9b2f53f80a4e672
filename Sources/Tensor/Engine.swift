import CBLAS
import Foundation

/// Process-wide settings for fast numerics, applied once at start-up by the command-line tool.
public enum Engine {
    /// One BLAS thread (independent trials run in parallel instead), and a malloc that keeps freed
    /// memory: an evaluation allocates and frees hundreds of tensors, and glibc's default trimming
    /// returns the heap top to the kernel after each, so every evaluation page-faults it back
    /// (measured: lenet double backward 0.44 ms median with trimming, 0.28 ms without).
    public static func configureForThroughput() {
        BLAS.setThreads(1)
        #if os(Linux)
        mallopt(M_TRIM_THRESHOLD, 1 << 30)
        mallopt(M_TOP_PAD, 64 << 20)
        mallopt(M_MMAP_THRESHOLD, 256 << 20)
        #endif
    }
}
