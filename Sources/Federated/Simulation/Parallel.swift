import Dispatch
import Foundation

/// Runs independent jobs on several threads, results in job order.
///
/// Each job should use one BLAS thread (`BLAS.setThreads(1)`, as the command-line tool sets at start):
/// parallelism comes from running jobs side by side, and results do not depend on the thread count.
public enum Parallel {
    /// `body(0) ... body(count - 1)` on up to `jobs` threads (default: all active cores); the first error
    /// thrown (by job order) is rethrown after every job has finished.
    public static func map<T>(_ count: Int, jobs: Int? = nil, _ body: (Int) throws -> T) rethrows -> [T] {
        if count == 0 { return [] }
        let workers = max(1, min(jobs ?? ProcessInfo.processInfo.activeProcessorCount, count))
        if workers == 1 { return try (0..<count).map(body) }
        return try withoutActuallyEscaping(body) { body in
            var results = [Result<T, Error>?](repeating: nil, count: count)
            let lock = NSLock()
            var next = 0
            DispatchQueue.concurrentPerform(iterations: workers) { _ in
                while true {
                    lock.lock(); let i = next; next += 1; lock.unlock()
                    if i >= count { return }
                    let r = Result { try body(i) }
                    lock.lock(); results[i] = r; lock.unlock()
                }
            }
            return try results.map { try $0!.get() }
        }
    }
}
