import Attacks
import Dispatch
import Federated
import Tensor
import Foundation
import SafeIO

/// A request to stop, shared between signal handlers and the workers.
/// `@unchecked Sendable`: safe because its flag is read and written only while holding its lock.
public final class StopFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var _requested = false
    public init() {}
    /// True once a stop was requested: no new trial starts.
    public var requested: Bool { lock.lock(); defer { lock.unlock() }; return _requested }
    public func request() { lock.lock(); _requested = true; lock.unlock() }
}

/// Callbacks a runner reports progress through (called from worker threads).
public struct AuditEvents: Sendable {
    /// The audit id, the trials this run will execute, and the trials already recorded (resume).
    public var started: @Sendable (_ audit: Int64, _ pending: Int, _ alreadyDone: Int) -> Void = { _, _, _ in }
    /// An attack iteration inside a running trial.
    public var iteration: @Sendable (_ trial: TrialSpec, _ iteration: Int, _ total: Int, _ loss: Double) -> Void = { _, _, _, _ in }
    /// A trial finished and was recorded.
    public var trialFinished: @Sendable (_ outcome: TrialOutcome, _ done: Int, _ pending: Int) -> Void = { _, _, _ in }
    /// A utility run (FL training with one defence) finished and was recorded.
    public var utilityFinished: @Sendable (_ run: UtilityRunRecord, _ done: Int, _ pending: Int) -> Void = { _, _, _ in }
    public init() {}
}

/// How a run ended.
public struct AuditRunResult: Sendable {
    public let auditID: Int64
    public let status: AuditStatus
    /// Trials recorded by this run, and trials skipped because they were already recorded.
    public let trialsRun: Int
    public let trialsSkipped: Int
    /// The assessment (only for a finished, unsharded audit).
    public let report: RiskReport?
    public let resumed: Bool
}

/// Runs an audit's trials in parallel on all cores (one BLAS thread each), recording each trial the
/// moment it finishes, so that a killed run loses at most the trials in flight.
/// `@unchecked Sendable`: safe because its stored properties are `let`s (the plan, the store, the stop flag,
/// all Sendable) and the workers' shared state lives in `RunState` under a lock.
public final class AuditRunner: @unchecked Sendable {
    public let plan: AuditPlan
    public let store: AuditStore
    public var shard: Shard?
    public var resume: ResumeRequest = .none
    /// Take over a `running` audit whose process cannot be checked from here (`--force`).
    public var force = false
    public var commandLine = ""
    public var toolVersion = "unknown"
    public var definitionPath: String?
    /// Parallel workers (default: every core, or the cores over `threads`).
    public var workers: Int?
    /// Op threads per trial (default: the cores over `workers`); once no trial waits, the cores of finished
    /// trials go to the ones still running (`OpThreads.Budget`). Results do not depend on either.
    public var threads: Int?
    /// Training setup of the utility runs (set by `open()` when this run is responsible for them).
    private var utility: UtilityRunner.Setup?

    public init(plan: AuditPlan, store: AuditStore) {
        self.plan = plan
        self.store = store
    }

    /// The trials this run is responsible for (its shard's slice, or the whole grid).
    public var trials: [TrialSpec] { shard.map { plan.shard($0.index, of: $0.count) } ?? plan.trials }

    /// Opens (or resumes) the audit row. Separate from `run` so that callers can learn the id first
    /// (e.g. to mark the audit interrupted from a signal handler).
    public func open() throws -> (id: Int64, resumed: Bool) {
        if let s = shard, s.count > plan.trials.count {
            throw AuditError.input("--shard \(s): the grid has only \(plan.trials.count) trials, fewer than \(s.count) shards")
        }
        // Utility runs belong to the whole audit or to shard 1.
        utility = (shard?.index ?? 1) == 1 ? plan.utilityTraining : nil
        return try AuditSession.open(plan: plan, store: store, shard: shard, resume: resume, force: force, trialsPlanned: trials.count,
                                     commandLine: commandLine, toolVersion: toolVersion, definitionPath: definitionPath)
    }

    /// Runs every trial of `audit` not yet recorded, then finishes the audit (or marks it interrupted
    /// when `stop` was requested, failed on an error, which is rethrown).
    public func run(audit: Int64, resumed: Bool, stop: StopFlag, events: AuditEvents = AuditEvents()) throws -> AuditRunResult {
        defer { store.checkpoint() }
        if try store.requireAudit(id: audit).status == .finished {
            events.started(audit, 0, try store.trialCount(audit: audit))
            return AuditRunResult(auditID: audit, status: .finished, trialsRun: 0, trialsSkipped: trials.count,
                                  report: shard == nil ? try store.assessment(audit: audit) : nil, resumed: true)
        }
        let done = try store.trialKeys(audit: audit)
        let recordedUtility = Set(try store.utilityRuns(audit: audit).map(\.defence))
        var jobs: [AuditJob] = []
        if utility != nil {
            jobs += plan.definition.defences.filter { $0 != .none && !recordedUtility.contains($0.description) }.map { .utility($0) }
        }
        jobs += trials.filter { !done.contains($0.key) }.map { .trial($0) }
        let needsBaseline = utility != nil && !recordedUtility.contains(DefenceSpec.none.description)
        let total = jobs.count + (needsBaseline ? 1 : 0)
        events.started(audit, total, done.count + recordedUtility.count)
        let state = RunState()
        // The no-defence training run first: every other run's accuracy drop is measured against it.
        var baseline = try store.utilityRuns(audit: audit).first { $0.defence == DefenceSpec.none.description }?.accuracy
        let parallelism = Parallelism.resolve(jobs: workers, threads: threads)
        let budget = OpThreads.Budget(workers: parallelism.jobs, threads: parallelism.threads)
        if let u = utility, baseline == nil, !stop.requested {
            // Alone on the machine: its ops get every core of the budget.
            OpThreads.run(in: budget, waiting: { 0 }) { state.attempt {
                let r = try UtilityRunner.run(u, defence: .none, baseline: nil, audit: audit)
                try store.record(utility: r)
                baseline = r.accuracy
                events.utilityFinished(r, state.countFinished(), total)
            } }
        }
        // No more trials at once than this machine's memory holds (each needs about `memoryEstimate` of the
        // batch behind one update, secure aggregation's clients included; `requireFits` refused more than one).
        let clients = plan.definition.defences.compactMap(\.secureAggregationClients).max() ?? 1
        let secondOrder = plan.definition.attacks.contains { $0.config.kind.method.differentiatesGradient }
        let perTrial = plan.model.memoryEstimate(batch: plan.definition.fl.batchSize * clients, secondOrder: secondOrder)
        let fit = max(1, Int(Double(Machine.availableMemoryBytes) / max(perTrial, 1)))
        let workerCount = max(1, min(parallelism.jobs, jobs.count, fit))
        let (queue, base, setup) = (jobs, baseline, utility)
        WorkerThreads.run(workerCount) { [self] in
            while let job = state.take(from: queue, stop: stop) {
                OpThreads.run(in: budget, waiting: { state.waiting(queue.count) }) {
                    switch job {
                    case let .trial(spec):
                        state.attempt {
                            let outcome = try TrialRunner.run(spec, plan: plan) { it, n, loss in events.iteration(spec, it, n, loss) }
                            try store.record(outcome, audit: audit)
                            events.trialFinished(outcome, state.countFinished(), total)
                        }
                    case let .utility(spec):
                        state.attempt {
                            let r = try UtilityRunner.run(setup!, defence: spec, baseline: base, audit: audit)
                            try store.record(utility: r)
                            events.utilityFinished(r, state.countFinished(), total)
                        }
                    }
                }
            }
        }
        let finished = state.finished
        if let e = state.firstError {
            try? store.setStatus(.failed, audit: audit, note: "\(e)".split(separator: "\n").first.map(String.init))
            throw e
        }
        let skipped = trials.count - trials.filter { !done.contains($0.key) }.count
        if stop.requested && finished < total {
            let recorded = try store.trialCount(audit: audit)
            try store.setStatus(.interrupted, audit: audit, note: "stopped after \(recorded) of \(trials.count) trials")
            return AuditRunResult(auditID: audit, status: .interrupted, trialsRun: finished, trialsSkipped: skipped, report: nil, resumed: resumed)
        }
        return try complete(audit: audit, run: finished, skipped: skipped, resumed: resumed)
    }

    /// Finishes an audit whose trials are all recorded: the verdict for a whole grid, a pointer to
    /// `medpfl merge` for a shard.
    func complete(audit: Int64, run: Int, skipped: Int, resumed: Bool) throws -> AuditRunResult {
        if let s = shard {
            let note = RecommendationRecord(position: 0, kind: .note, setting: nil, band: nil,
                                            text: "Shard \(s) of a sharded audit: \(trials.count) of \(plan.trials.count) trials. "
                                                + "Merge the shards (medpfl merge) for the verdict.")
            try store.finish(audit: audit, recommendations: [note])
            return AuditRunResult(auditID: audit, status: .finished, trialsRun: run, trialsSkipped: skipped, report: nil, resumed: resumed)
        }
        let report = try store.finishAssessed(audit: audit, toolVersion: toolVersion)
        return AuditRunResult(auditID: audit, status: .finished, trialsRun: run, trialsSkipped: skipped, report: report, resumed: resumed)
    }
}

/// A unit of work of an audit run.
enum AuditJob { case trial(TrialSpec), utility(DefenceSpec) }

/// Shared state of the workers: the next job, the finished count and the first error.
/// `@unchecked Sendable`: safe because every access to its variables holds its lock.
final class RunState: @unchecked Sendable {
    private let lock = NSLock()
    private var next = 0
    private(set) var finished = 0
    private(set) var firstError: Error?

    /// The next job, or nil once all are taken, a stop was requested or a job failed.
    func take(from jobs: [AuditJob], stop: StopFlag) -> AuditJob? {
        lock.lock(); defer { lock.unlock() }
        if stop.requested || firstError != nil || next >= jobs.count { return nil }
        next += 1
        return jobs[next - 1]
    }

    /// Jobs of `count` not taken yet.
    func waiting(_ count: Int) -> Int { lock.lock(); defer { lock.unlock() }; return max(0, count - next) }

    func countFinished() -> Int { lock.lock(); defer { lock.unlock() }; finished += 1; return finished }

    /// Runs `body`, keeping its error (the first one stops every worker).
    func attempt(_ body: () throws -> Void) {
        do { try body() } catch { lock.lock(); if firstError == nil { firstError = error }; lock.unlock() }
    }
}

/// Runs `body` on `count` dedicated threads (large stacks for deep autodiff graphs) and waits for all.
/// Dedicated threads, not Dispatch's pool, so that Dispatch stays free for the signal handlers that
/// stop an audit while every core is busy with trials.
enum WorkerThreads {
    static func run(_ count: Int, _ body: @escaping @Sendable () -> Void) {
        let group = DispatchGroup()
        for i in 0..<count {
            group.enter()
            let t = Thread { body(); group.leave() }
            t.stackSize = 64 << 20
            t.name = "medpfl-audit-worker-\(i)"
            t.start()
        }
        group.wait()
    }
}
