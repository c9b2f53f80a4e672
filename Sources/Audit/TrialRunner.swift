import Attacks
import Evaluation
import Federated
import Foundation
import Imaging
import Metrics
import NN
import Tensor

/// One reconstructed image of a trial, scored against the original it was matched with.
public struct ImageOutcome: Sendable {
    /// Index of the original within the attacked batch.
    public let original: Int
    /// Index of the reconstruction it was matched with (Hungarian matching on SSIM).
    public let reconstruction: Int
    public let trueLabel: Int
    public let recoveredLabel: Int?
    public let score: ReconstructionScore
    public let reconstructionPNG: Data
    public let originalPNG: Data
    /// Re-identification rank and prior guess (nil for an attack that rebuilds no image).
    public var evidence: ImageEvidence? = nil
}

/// Everything one trial produced, ready for the audit log.
public struct TrialOutcome: Sendable {
    public let spec: TrialSpec
    public let seed: UInt64
    /// Every image behind the attacked update (the sample's, then other clients' under secure aggregation).
    public let imageNames: [String]
    public let imageSHA256: [String]
    public let trueLabels: [Int]
    public let effect: DefenceEffect
    /// False when the attack does not apply to this model or batch (e.g. analytic on a conv net).
    public let applicable: Bool
    public let note: String?
    public let images: [ImageOutcome]
    public let iterations: Int
    public let finalLoss: Double
    public let seconds: Double
    /// Whether the attack was still improving when its budget ran out (nil: it does not optimise, or did not apply).
    public var convergence: Convergence? = nil

    /// The trial's statistics (`CellStatistics`: the one definition of every per-cell figure).
    public var statistics: CellStatistics {
        var c = CellStatistics()
        for im in images {
            c.add(im.score, trueLabel: im.trueLabel, recoveredLabel: im.recoveredLabel)
            if let e = im.evidence { c.evidence.add(e, ssim: im.score.ssim) }
        }
        // As `CellStatistics(scored:)`: a trial that rebuilt every image is not judged for convergence.
        if !(images.allSatisfy(\.score.success) && !images.isEmpty) { c.evidence.add(convergence) }
        return c
    }

    /// The recovered label of each image (nil where the attack recovered none), in original order.
    public var recoveredLabels: [Int?] { images.sorted { $0.original < $1.original }.map(\.recoveredLabel) }
}

/// Runs one cell of the grid: the client's update, the defence, the attack, then the scoring.
/// The originals are used only in the scoring, after the attack has finished.
public enum TrialRunner {
    /// The seed of a trial: derived from the audit seed and the trial key, so reruns reproduce it.
    public static func seed(audit: UInt64, key: String) -> UInt64 {
        SeededGenerator(seed: audit).derived("trial-\(key)").seed
    }

    public static func run(_ spec: TrialSpec, plan: AuditPlan, progress: AttackProgress? = nil) throws -> TrialOutcome {
        let t0 = Date()
        let d = plan.definition
        let seed = Self.seed(audit: d.seed, key: spec.key)
        let root = SeededGenerator(seed: seed)
        let sample = plan.samples[spec.sample]
        let size = d.model.inputSize

        // Clients behind the update: the audited one, plus the others of a secure aggregation.
        var all = sample.poolIndices
        if let n = spec.defence.secureAggregationClients {
            var rng = root.derived("secagg-clients")
            all += plan.pool.draw((n - 1) * d.fl.batchSize, excluding: Set(sample.poolIndices), rng: &rng)
        }
        let x = try plan.pool.load(all, size: size, channels: d.model.inputChannels, method: d.model.resizeMethod)
        let labels = all.map { plan.pool.items[$0].label }
        let round: InterceptedRound
        let served: (model: Model, state: ModelState)
        do {
            // What the server sends: the site's model, or a malicious server's modification of it.
            served = try AttackPipeline.served(spec.attack.config, model: plan.model, state: plan.state, seed: root.derived("server").seed)
            round = try InterceptedRound.simulate(plan.updateKind, model: served.model, state: served.state, images: x, labels: labels,
                                                  bn: d.model.bn, defence: spec.defence, seed: root.derived("update").seed)
        } catch { throw AuditError.input("trial \(spec.key): \(error)") }
        // The audited client's own update is what the defence changed; under secure aggregation the
        // attacker still sees only the mean of all clients' updates.
        let effect = round.effects[0]
        // The shared pipeline (Evaluation): attack what the attacker holds, then score against the originals.
        let reference: ReferencePool
        do { reference = try plan.referencePool() } catch { throw AuditError.input("re-identification pool: \(error)") }
        let job = AttackJob(problem: AttackPipeline.problem(round, model: served.model, state: served.state, bn: d.model.bn),
                            seed: root.derived("attack").seed, originals: x, labels: labels, reference: (reference, all))
        let outcome = try AttackPipeline.run(job, config: spec.attack.config, threshold: d.thresholds.successSSIM, progress: progress)
        let result = outcome.result
        var digests = sample.sha256
        for i in all.dropFirst(sample.poolIndices.count) { digests.append(try plan.pool.digest(i)) }
        let names = all.map { plan.pool.items[$0].name }
        guard result.applicable else {
            return TrialOutcome(spec: spec, seed: seed, imageNames: names, imageSHA256: digests, trueLabels: labels,
                                effect: effect, applicable: false, note: result.note, images: [], iterations: 0,
                                finalLoss: result.finalLoss, seconds: Date().timeIntervalSince(t0))
        }
        let images = try outcome.scored.map { s in
            ImageOutcome(original: s.original, reconstruction: s.reconstruction, trueLabel: s.trueLabel,
                         recoveredLabel: s.recoveredLabel, score: s.score,
                         reconstructionPNG: try PNGBytes.encode(RGBImage(tensor: outcome.reconstruction(s.reconstruction))),
                         originalPNG: try PNGBytes.encode(RGBImage(tensor: outcome.original(s.original)!)), evidence: s.evidence)
        }
        return TrialOutcome(spec: spec, seed: seed, imageNames: names, imageSHA256: digests, trueLabels: labels,
                            effect: effect, applicable: true, note: result.note, images: images,
                            iterations: result.iterations, finalLoss: result.finalLoss, seconds: Date().timeIntervalSince(t0),
                            convergence: result.convergence)
    }
}
