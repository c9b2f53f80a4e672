import Attacks
import Federated
import Foundation
import NN
import Tensor

/// One attacked update: what the attacker holds (`problem`), the seed of its attack, and, kept apart for
/// scoring only, the original images and labels behind it when they are known.
public struct AttackJob: Sendable {
    public let problem: AttackProblem
    public let seed: UInt64
    /// [B, C, H, W] originals behind the update (nil: a captured update with no reference images).
    public let originals: Tensor?
    public let labels: [Int]?
    /// The pool re-identification ranks against, and the identity of each original in it (scoring only).
    public let reference: (pool: ReferencePool, ids: [Int])?

    public init(problem: AttackProblem, seed: UInt64, originals: Tensor? = nil, labels: [Int]? = nil,
                reference: (pool: ReferencePool, ids: [Int])? = nil) {
        self.problem = problem; self.seed = seed; self.originals = originals; self.labels = labels; self.reference = reference
    }
}

/// What one job produced: the attack's result, its scored images (empty without originals, or when the
/// attack did not apply) and their statistics.
public struct AttackJobOutcome: Sendable {
    public let result: AttackResult
    public let scored: [ScoredSample]
    public let statistics: CellStatistics
    let originals: Tensor?

    /// Image `i` of the reconstruction batch, [C, H, W].
    public func reconstruction(_ i: Int) -> Tensor { Self.slice(result.images, i) }
    /// Original `i`, [C, H, W] (nil without originals).
    public func original(_ i: Int) -> Tensor? { originals.map { Self.slice($0, i) } }

    static func slice(_ t: Tensor, _ i: Int) -> Tensor {
        let shape = Array(t.shape.dropFirst()), per = shape.reduce(1, *)
        return Tensor(shape: shape, data: Array(t.scalars[(i * per)..<((i + 1) * per)]))
    }
}

/// The attack pipeline `medpfl attack` and the audit's trial runner share: build the updates an attacker
/// intercepts, run the attack on each (in parallel), then score against the originals and aggregate.
/// The originals enter only after the attack has returned.
public enum AttackPipeline {
    /// The updates clients send for `images` (one update per `batch` images; under secure aggregation one
    /// update per `batch x clients` images, averaged over that many simulated clients), each defended on its
    /// client. The seed of update `k` is `SeededGenerator(seed).derived("defence-k")`.
    public static func updates(images x: Tensor, labels: [Int], batch: Int, kind: UpdateKind, model: Model, state: ModelState,
                               bn: BNMode, defence: DefenceSpec, seed: UInt64) throws -> [(job: Range<Int>, round: InterceptedRound)] {
        let n = x.shape[0], clients = defence.secureAggregationClients ?? 1, group = batch * clients
        guard batch >= 1, n % group == 0 else {
            throw AttackPipelineError("\(n) images do not split into updates of \(group) (\(clients) client\(clients == 1 ? "" : "s") x batch \(batch))")
        }
        let shape = Array(x.shape.dropFirst())
        return try stride(from: 0, to: n, by: group).map { start in
            let xb = x.narrowed([start..<(start + group)] + shape.map { 0..<$0 })
            let round = try InterceptedRound.simulate(kind, model: model, state: state, images: xb, labels: Array(labels[start..<(start + group)]),
                                                      bn: bn, defence: defence, seed: SeededGenerator(seed: seed).derived("defence-\(start / group)").seed)
            return (start..<(start + group), round)
        }
    }

    /// The model and weights the server sends the clients for `config`'s attack: the site's own, or a malicious
    /// server's modification of them (`AttackMethod.servedModel`; the imprint block). The clients' updates and
    /// the attacker's problem both use what this returns. Its draws come from `seed`.
    public static func served(_ config: AttackConfig, model: Model, state: ModelState, seed: UInt64) throws -> (model: Model, state: ModelState) {
        try config.kind.method.servedModel(config, model: model, state: state, seed: SeededGenerator(seed: seed).derived("server").seed) ?? (model, state)
    }

    /// The attacker's problem for an intercepted round.
    public static func problem(_ round: InterceptedRound, model: Model, state: ModelState, bn: BNMode) -> AttackProblem {
        AttackProblem(model: model, state: state, bn: bn, update: round.update.tensors, batchSize: round.batchSize,
                      kind: round.kind, clients: round.clients)
    }

    /// Attacks one job, then scores it (the originals are read only here, after the attack returned).
    public static func run(_ job: AttackJob, config: AttackConfig, start: AttackStart? = nil, threshold: Double,
                           progress: AttackProgress? = nil) throws -> AttackJobOutcome {
        let result = try Attack.run(config, on: job.problem, seed: job.seed, start: start, progress: progress)
        return score(job, result, threshold: threshold)
    }

    /// Attacks every job on up to `workers` threads, each job's ops on `threads` (more once no job waits); outcomes in job order.
    /// `progress` receives the job index with each step.
    public static func run(_ jobs: [AttackJob], config: AttackConfig, start: AttackStart? = nil, threshold: Double, workers: Int? = nil,
                           threads: Int? = nil, progress: (@Sendable (_ job: Int, _ iteration: Int, _ total: Int, _ loss: Double) -> Void)? = nil) throws -> [AttackJobOutcome] {
        try Parallel.map(jobs.count, jobs: workers, threads: threads) { i in
            try run(jobs[i], config: config, start: start, threshold: threshold,
                    progress: progress.map { p in { it, total, loss in p(i, it, total, loss) } })
        }
    }

    /// Scores a finished result against the job's originals (nothing to score without them, or when the
    /// attack did not apply).
    public static func score(_ job: AttackJob, _ result: AttackResult, threshold: Double) -> AttackJobOutcome {
        guard result.applicable, let x = job.originals, let labels = job.labels else {
            return AttackJobOutcome(result: result, scored: [], statistics: .timeOnly(images: job.problem.batchSize, seconds: result.seconds),
                                    originals: job.originals)
        }
        var scored = Scoring.score(originals: x, labels: labels, result: result, threshold: threshold)
        // Re-identification and the prior guess, for attacks that rebuild images.
        if let ref = job.reference, result.kind.method.reconstructsImages {
            scored = ref.pool.evidence(scored, originals: x, reconstructions: result.images, originalIDs: ref.ids)
        }
        return AttackJobOutcome(result: result, scored: scored,
                                statistics: CellStatistics(scored: scored, seconds: result.seconds, convergence: result.convergence), originals: x)
    }
}

/// Images and a batch size that do not fit together.
public struct AttackPipelineError: Error, CustomStringConvertible {
    public let description: String
    public init(_ d: String) { description = d }
}
