import Dispatch
import Foundation
import Tensor

/// How a run spreads over the machine: `jobs` independent jobs (trials, clients) at once, each with
/// `threads` op threads (`OpThreads`), and the cores of finished jobs handed to the last ones.
public struct Parallelism: Sendable, Equatable {
    public let jobs: Int, threads: Int
    public init(jobs: Int, threads: Int) { self.jobs = max(1, jobs); self.threads = max(1, threads) }

    /// The run's split of `cores` (default: the active cores) when the user gave `jobs`, `threads`, both or
    /// neither: jobs x threads = cores by default, never more (jobs = cores / threads, threads = cores / jobs,
    /// rounded down, at least 1); both given are taken as they are.
    public static func resolve(jobs: Int?, threads: Int?, cores: Int = ProcessInfo.processInfo.activeProcessorCount) -> Parallelism {
        let c = max(1, cores)
        switch (jobs, threads) {
        case let (j?, t?): return Parallelism(jobs: j, threads: t)
        case let (j?, nil): return Parallelism(jobs: j, threads: c / max(1, j))
        case let (nil, t?): return Parallelism(jobs: c / max(1, t), threads: t)
        case (nil, nil): return Parallelism(jobs: c, threads: 1)
        }
    }
}


/// Runs independent jobs on several threads, results in job order.
///
/// Jobs run side by side, each on its share of the cores for its ops (`OpThreads`): `threads` while other
/// jobs wait, more once none do (one attack alone gets every core). Results do not depend on either count.
public enum Parallel {
    /// `body(0) ... body(count - 1)` on up to `jobs` threads (default: all active cores), each job's ops on
    /// `threads` threads (default: the cores left to it); the first error thrown (by job order) is rethrown
    /// after every job has finished.
    public static func map<T: Sendable>(_ count: Int, jobs: Int? = nil, threads: Int? = nil,
                                        _ body: @escaping @Sendable (Int) throws -> T) throws -> [T] {
        if count == 0 { return [] }
        let p = Parallelism.resolve(jobs: jobs, threads: threads)
        let workers = max(1, min(p.jobs, count))
        let budget = OpThreads.Budget(workers: p.jobs, threads: p.threads)
        let state = JobQueue<T>(count: count)
        let work: @Sendable (Int) -> Void = { _ in
            while let i = state.take() {
                let r = OpThreads.run(in: budget, waiting: { state.waiting }) { Result { try body(i) } }
                state.put(i, r)
            }
        }
        if workers == 1 { work(0) } else { DispatchQueue.concurrentPerform(iterations: workers, execute: work) }
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

    /// Jobs not taken yet.
    var waiting: Int { lock.lock(); defer { lock.unlock() }; return done.count - next }

    func put(_ i: Int, _ r: Result<T, Error>) {
        lock.lock(); defer { lock.unlock() }
        done[i] = r
    }

    func results() -> [Result<T, Error>] {
        lock.lock(); defer { lock.unlock() }
        return done.map { $0! }
    }
}
