import CBLAS
import Foundation
import Synchronization

/// Helper threads that stay awake between the ops of one trial, so that cutting an op across threads costs
/// a few hundred nanoseconds instead of a Dispatch wake-up (tens of microseconds).
///
/// `OpThreads.forEach` hands its chunks here. One op runs on the pool at a time: the caller takes part in its
/// own op, at most `threads - 1` helpers join it, and every chunk index is taken exactly once from a shared
/// counter, so which thread runs a chunk never matters (chunks write disjoint outputs). A caller that finds
/// the pool busy (another trial's op) returns false and uses Dispatch instead. Helpers spin for about
/// `spinLimit` polls after an op and then sleep until the next one, so an idle process costs nothing.
final class SpinPool: @unchecked Sendable {
    // `@unchecked Sendable`: `body` and `count` are written only by the caller holding `submit`, before
    // `generation` and `slots` are published (sequentially consistent atomics), and read by helpers only after
    // they took a slot of that op; the caller clears them only once no helper is inside the op (`active` = 0).
    /// One helper per core beyond the first (at most 15); none with MEDPFL_SPIN_POOL=0 in the environment (every
    /// op then goes to Dispatch: the A/B switch of the README's measurement, results identical either way).
    static let shared = SpinPool(helpers: ProcessInfo.processInfo.environment["MEDPFL_SPIN_POOL"] == "0" ? 0
                                 : max(0, min(15, ProcessInfo.processInfo.activeProcessorCount - 1)))

    let helpers: Int
    private let submit = NSLock()
    private let wake = NSCondition()
    private let generation = Atomic<Int>(0)
    private let slots = Atomic<Int>(0)
    private let active = Atomic<Int>(0)
    private let next = Atomic<Int>(0)
    private let finished = Atomic<Int>(0)
    nonisolated(unsafe) private var body: ((Int) -> Void)?
    nonisolated(unsafe) private var count = 0
    private let started = Mutex<Bool>(false)
    /// Polls of the generation before a helper sleeps (with PAUSE, ~100-300 us).
    private let spinLimit = 20_000

    init(helpers: Int) { self.helpers = helpers }

    private func startHelpers() {
        started.withLock { s in
            guard !s else { return }
            s = true
            for _ in 0..<helpers {
                let t = Thread { [unowned self] in self.helperLoop() }
                t.stackSize = 8 << 20
                t.name = "medpfl-op"
                t.start()
            }
        }
    }

    private func helperLoop() {
        var seen = generation.load(ordering: .sequentiallyConsistent)
        while true {
            var polls = 0
            var g = generation.load(ordering: .sequentiallyConsistent)
            while g == seen {
                medpfl_cpu_relax()
                polls += 1
                if polls >= spinLimit {
                    wake.lock()
                    while generation.load(ordering: .sequentiallyConsistent) == seen { wake.wait() }
                    wake.unlock()
                    polls = 0
                }
                g = generation.load(ordering: .sequentiallyConsistent)
            }
            seen = g
            active.wrappingAdd(1, ordering: .sequentiallyConsistent)
            if takeSlot() { work() }
            active.wrappingSubtract(1, ordering: .sequentiallyConsistent)
        }
    }

    private func takeSlot() -> Bool {
        var s = slots.load(ordering: .sequentiallyConsistent)
        while s > 0 {
            let (done, now) = slots.compareExchange(expected: s, desired: s - 1, ordering: .sequentiallyConsistent)
            if done { return true }
            s = now
        }
        return false
    }

    /// Takes chunk indices until none is left (helpers and the caller alike).
    private func work() {
        let n = count
        guard let b = body else { return }
        while true {
            let i = next.wrappingAdd(1, ordering: .sequentiallyConsistent).oldValue
            if i >= n { return }
            b(i)
            finished.wrappingAdd(1, ordering: .sequentiallyConsistent)
        }
    }

    /// Runs `body(i)` for i in 0..<count on the caller and up to `threads - 1` helpers; false (nothing run)
    /// when the pool has no helper or is busy with another caller's op.
    func run(_ count: Int, threads: Int, _ body: (Int) -> Void) -> Bool {
        guard helpers > 0, threads > 1, submit.try() else { return false }
        defer { submit.unlock() }
        startHelpers()
        return withoutActuallyEscaping(body) { escapable in
            self.body = escapable
            self.count = count
            next.store(0, ordering: .sequentiallyConsistent)
            finished.store(0, ordering: .sequentiallyConsistent)
            slots.store(min(threads - 1, helpers), ordering: .sequentiallyConsistent)
            wake.lock()
            generation.wrappingAdd(1, ordering: .sequentiallyConsistent)
            wake.broadcast()
            wake.unlock()
            work()
            while finished.load(ordering: .sequentiallyConsistent) < count { medpfl_cpu_relax() }
            slots.store(0, ordering: .sequentiallyConsistent)
            while active.load(ordering: .sequentiallyConsistent) > 0 { medpfl_cpu_relax() }
            self.body = nil
            return true
        }
    }
}
