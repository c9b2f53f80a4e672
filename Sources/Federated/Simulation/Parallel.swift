import Dispatch
import Foundation

/// Runs independent jobs on several threads, results in job order.
///
/// Each job should use one BLAS thread (the Tensor library sets one before its first BLAS call):
/// parallelism comes from running jobs side by side, and results do not depend on the thread count.
public enum Parallel {
    /// `body(0) ... body(count - 1)` on up to `jobs` threads (default: all active cores); the first error
    /// thrown (by job order) is rethrown after every job has finished.
    public static func map<T: Sendable>(_ count: Int, jobs: Int? = nil, _ body: @escaping @Sendable (Int) throws -> T) throws -> [T] {
        if count == 0 { return [] }
        let workers = max(1, min(jobs ?? ProcessInfo.processInfo.activeProcessorCount, count))
        if workers == 1 { return try (0..<count).map(body) }
        let state = JobQueue<T>(count: count)
        DispatchQueue.concurrentPerform(iterations: workers) { _ in
            while let i = state.take() { state.put(i, Result { try body(i) }) }
        }
        return try state.results().map { try $0.get() }
    }
}

/// The shared state of one `Parallel.map`: the next job and the results so far.
/// Safe to share: every read and write of its two variables holds `lock`.
private final class JobQueue<T: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var next = 0
    private var done: [Result<T, Error>?]

    init(count: Int) { done = Array(repeating: nil, count: count) }

    func take() -> Int? {
        lock.lock(); defer { lock.unlock() }
        guard next < done.count else { return nil }
        next += 1
        return next - 1
    }

    func put(_ i: Int, _ r: Result<T, Error>) {
        lock.lock(); defer { lock.unlock() }
        done[i] = r
    }

    func results() -> [Result<T, Error>] {
        lock.lock(); defer { lock.unlock() }
        return done.map { $0! }
    }
}
