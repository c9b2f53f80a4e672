import Dispatch
import Foundation

/// Threads inside one computation (one attack trial): how many threads the ops called from the current
/// thread may use, and the fixed partition that keeps results independent of that number.
///
/// The rule that makes a trial bit-identical at 1, 2 or N threads: an op is cut into chunks by its shape
/// alone (`OpThreads.parts`, `OpThreads.forPieces`), never by the thread count; each chunk is computed by the
/// same code whichever thread runs it, and chunks write disjoint outputs (no reduction crosses a chunk
/// boundary, so there is nothing to combine in a thread-dependent order). One thread runs the same chunks
/// one after another. The thread count changes only the wall time.
///
/// The count is per thread (each audit worker sets its own; a new thread starts at 1) and may change while
/// a trial runs (the audit runner hands the cores of finished trials to the last ones). Ops run their
/// chunks on the spinning helpers of `SpinPool` (or Dispatch's pool when another trial's op holds it); inside a
/// chunk the count is 1, so nothing nests.
public enum OpThreads {
    /// A thread count the audit runner can change from another thread while a trial runs.
    /// `@unchecked Sendable`: safe because `value` is only read and written holding `lock`.
    public final class Share: @unchecked Sendable {
        private let lock = NSLock()
        private var value: Int
        public init(_ threads: Int) { value = max(1, threads) }
        public var threads: Int {
            get { lock.lock(); defer { lock.unlock() }; return value }
            set { lock.lock(); value = max(1, newValue); lock.unlock() }
        }
    }

    private static let key: pthread_key_t = {
        var k = pthread_key_t()
        pthread_key_create(&k, nil)
        return k
    }()

    /// The share the current thread's ops read (nil: one thread).
    private static var currentShare: Share? {
        guard let p = pthread_getspecific(key) else { return nil }
        return Unmanaged<Share>.fromOpaque(p).takeUnretainedValue()
    }

    /// The threads the current thread's ops may use (1 unless set with `with`).
    public static var current: Int { currentShare?.threads ?? 1 }

    /// Runs `body` with the current thread's ops using `share`'s thread count (read at every op).
    public static func with<T>(_ share: Share, _ body: () throws -> T) rethrows -> T {
        let previous = pthread_getspecific(key)
        pthread_setspecific(key, Unmanaged.passUnretained(share).toOpaque())
        defer { pthread_setspecific(key, previous) }
        return try withExtendedLifetime(share) { try body() }
    }

    /// Runs `body` with `threads` threads for the current thread's ops.
    public static func with<T>(threads: Int, _ body: () throws -> T) rethrows -> T {
        try with(Share(threads), body)
    }

    /// The number of pieces an op of `work` multiply-adds (or element visits) splits into along a dimension
    /// of `size`, with pieces of at least `minPiece`: a power of two up to 16, chosen from the shape alone.
    /// Below `minWork` the op is one piece (the threads would cost more than they save).
    @inline(__always)
    public static func parts(size: Int, work: Int, minWork: Int, minPiece: Int) -> Int {
        guard work >= minWork, size >= 2 * minPiece else { return 1 }
        var p = 1
        while p < 16 && size / (2 * p) >= minPiece { p *= 2 }
        return p
    }

    /// The half-open range of piece `i` of `parts` over `0..<size`, boundaries on multiples of `align`.
    @inline(__always)
    public static func range(_ i: Int, of parts: Int, size: Int, align: Int = 1) -> Range<Int> {
        if parts == 1 { return 0..<size }
        let step = ((size + parts - 1) / parts + align - 1) / align * align
        let lo = min(size, i * step), hi = i == parts - 1 ? size : min(size, (i + 1) * step)
        return lo..<hi
    }

    /// Runs `body(i)` for every i in 0..<count, on up to `current` threads. Each index runs exactly once;
    /// which thread runs it, and in which order, must not matter to the caller (disjoint outputs).
    public static func forEach(_ count: Int, _ body: (Int) -> Void) {
        let threads = count > 1 ? min(current, count) : 1
        if threads <= 1 {
            for i in 0..<count { body(i) }
            return
        }
        let next = Counter()
        // The calling thread takes part; inside a chunk every thread runs its ops on one thread.
        let saved = pthread_getspecific(key)
        pthread_setspecific(key, nil)
        defer { pthread_setspecific(key, saved) }
        withoutActuallyEscaping(body) { escapable in
            // Safe: concurrentPerform returns only after every call of `body` did; chunks write disjoint outputs.
            nonisolated(unsafe) let body = escapable
            // The spinning helpers when free (a few hundred ns per op), else Dispatch's pool.
            if SpinPool.shared.run(count, threads: threads, body) { return }
            DispatchQueue.concurrentPerform(iterations: threads) { _ in
                while true {
                    let i = next.take()
                    if i >= count { break }
                    body(i)
                }
            }
        }
    }

    /// The next chunk index. `@unchecked Sendable`: safe because `value` is only touched holding `lock`.
    private final class Counter: @unchecked Sendable {
        private let lock = NSLock()
        private var value = 0
        func take() -> Int { lock.lock(); defer { lock.unlock() }; value += 1; return value - 1 }
    }
}

extension OpThreads {
    /// The cores of a run shared among the jobs in flight: each job runs with `threads` op threads while
    /// enough jobs wait to keep every worker busy; once none wait (the tail of an audit, or one big attack),
    /// the cores of finished jobs go to the jobs still running. Thread counts change wall time only.
    /// `@unchecked Sendable`: safe because every variable is read and written holding `lock`.
    public final class Budget: @unchecked Sendable {
        private let lock = NSLock()
        /// Cores to share (workers x threads per job) and the op threads of a job while others wait.
        public let cores: Int, threads: Int
        private var running: [Share] = []

        public init(workers: Int, threads: Int) {
            self.threads = max(1, threads)
            self.cores = max(1, workers) * self.threads
        }

        /// Registers a job that starts now, with `waiting` jobs not yet started; run it under the returned share.
        public func begin(waiting: Int) -> Share {
            lock.lock(); defer { lock.unlock() }
            let s = Share(threads)
            running.append(s)
            rebalance(waiting: waiting)
            return s
        }

        /// Unregisters a finished job (`waiting`: jobs not yet started).
        public func end(_ share: Share, waiting: Int) {
            lock.lock(); defer { lock.unlock() }
            running.removeAll { $0 === share }
            rebalance(waiting: waiting)
        }

        /// While jobs wait, each running one keeps `threads`; with none waiting, the cores are split among the
        /// running jobs (the first ones get the remainder).
        private func rebalance(waiting: Int) {
            guard waiting == 0, !running.isEmpty else { for s in running { s.threads = threads }; return }
            let per = cores / running.count, extra = cores % running.count
            for (i, s) in running.enumerated() { s.threads = max(threads, per + (i < extra ? 1 : 0)) }
        }
    }

    /// Runs `body` as a job of `budget`, its ops on the job's share of the cores; `waiting` tells how many
    /// jobs have not started yet (read when the job starts and when it ends).
    public static func run<T>(in budget: Budget, waiting: () -> Int, _ body: () throws -> T) rethrows -> T {
        let share = budget.begin(waiting: waiting())
        defer { budget.end(share, waiting: waiting()) }
        return try with(share, body)
    }
}

extension OpThreads {
    /// Below this many element visits an element-wise op (or a per-channel one) runs as one piece: with the spinning
    /// helpers a cut costs about a microsecond, so from 32 K elements (~10 us of work) a second thread pays
    /// (128 K while every cut woke a Dispatch worker). Gathers and scatters use twice this.
    public static let minElementwiseWork = 1 << 15

    /// `body` for each of the `parts(size:work:minWork:minPiece:)` shape-fixed pieces of `0..<size` (boundaries on
    /// multiples of `align`), on the op threads; one piece runs inline.
    @inline(__always)
    static func forPieces(size: Int, work: Int, minWork: Int, minPiece: Int = 1, align: Int = 1, _ body: (Range<Int>) -> Void) {
        let parts = self.parts(size: size, work: work, minWork: minWork, minPiece: minPiece)
        if parts == 1 { body(0..<size); return }
        forEach(parts) { i in
            let r = range(i, of: parts, size: size, align: align)
            if !r.isEmpty { body(r) }
        }
    }

    /// Element-wise work of `count` elements in shape-fixed ranges (multiples of 16, at least 4 K elements) on the
    /// op threads; one range below `minElementwiseWork`, where a thread costs more than it saves.
    @inline(__always)
    static func forRanges(_ count: Int, minWork: Int = OpThreads.minElementwiseWork, _ body: (Range<Int>) -> Void) {
        forPieces(size: count, work: count, minWork: minWork, minPiece: 1 << 12, align: 16, body)
    }
}
