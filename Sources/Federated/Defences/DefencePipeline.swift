import Foundation
import Tensor

extension DefenceSpec {
    /// Applies the defence to one update, in the order clip -> prune -> quantise -> noise, drawing all
    /// randomness from `rng` (stochastic rounding first, then noise, tensors in order).
    ///
    /// For a `dp` spec the update is treated as a batch of one example: it is clipped to C as a whole and
    /// N(0, (sigma C)^2) is added to every entry, i.e. client-level DP (DP-FedAvg style) for this update.
    /// For DP-SGD on a real batch use `applyDP(perExample:rng:)`. Secure aggregation is not applied here.
    public func apply(_ update: ModelUpdate, rng: inout SeededGenerator) -> DefenceOutcome {
        if isNone || (dp == nil && clipNorm == nil && prunePercent == nil && quantization == nil && noise == nil) {
            return DefenceOutcome(update: update,
                                  effect: .measure(original: update, defended: update, label: label))
        }
        if let dp {
            let clipped = update.clipped(toNorm: dp.clipNorm).update
            return run(start: clipped, reference: update, batchSize: 1, dp: dp, rng: &rng)
        }
        var start = update
        if let c = clipNorm { start = update.clipped(toNorm: c).update }
        return run(start: start, reference: update, batchSize: 1, dp: nil, rng: &rng)
    }

    /// Applies the defence to a batch given as per-example gradients (all with the same layout).
    ///
    /// With `dp`: DP-SGD as Opacus does it: each example's whole gradient is clipped to L2 norm C
    /// (factor min(1, C / (norm + 1e-6))), the clipped gradients are summed, prune and quantise (if any) act
    /// on the sum, N(0, (sigma C)^2) is added to every entry, and the result is divided by the batch size.
    /// Without `dp`: the batch mean is defended with `apply(_:rng:)`. Either way the effect is measured
    /// against the plain batch mean (the undefended update).
    public func applyDP(perExample: [ModelUpdate], rng: inout SeededGenerator) -> DefenceOutcome {
        precondition(!perExample.isEmpty, "applyDP needs at least one per-example update")
        let mean = ModelUpdate.mean(perExample)
        guard let dp else { return apply(mean, rng: &rng) }
        let clippedSum = ModelUpdate.sum(perExample.map { $0.clipped(toNorm: dp.clipNorm).update })
        return run(start: clippedSum, reference: mean, batchSize: perExample.count, dp: dp, rng: &rng)
    }

    /// prune -> quantise -> noise (DP noise, then division by the batch size, or element-wise noise),
    /// then measurement against `reference`.
    private func run(start: ModelUpdate, reference: ModelUpdate, batchSize: Int, dp: DPSpec?,
                     rng: inout SeededGenerator) -> DefenceOutcome {
        var u = start
        var parts: [String] = []
        if let c = clipNorm { parts.append("clip L2<=\(formatForLabel(c)) (not DP)") }
        if let dp { parts.append(dp.label) }
        if let p = prunePercent {
            u = Pruning.prune(u, percent: p)
            parts.append("prune \(formatForLabel(p))% smallest |u| per tensor")
        }
        if let q = quantization {
            u = Quantisation.quantise(u, q, rng: &rng)
            parts.append(q.label)
        }
        var noiseStd: Double? = nil
        if let dp {
            let std = dp.noiseMultiplier * dp.clipNorm
            if std > 0 { u = Noise.addGaussian(u, std: std, rng: &rng) }
            if batchSize > 1 { u = u.scaled(by: 1 / Float(batchSize)) }
            noiseStd = std / Double(batchSize)
        } else if let n = noise {
            let (noisy, scale) = Noise.apply(n, to: u, rng: &rng)
            u = noisy
            noiseStd = n.distribution == .laplace ? 2.0.squareRoot() * scale : scale
            parts.append(n.label(realisedScale: scale))
        }
        if let k = secureAggregationClients { parts.append("secure aggregation over \(k) clients") }
        let effect = DefenceEffect.measure(original: reference, defended: u, label: parts.joined(separator: " + "),
                                           epsilon: dp?.epsilon, delta: dp?.delta, noiseStd: noiseStd)
        return DefenceOutcome(update: u, effect: effect)
    }
}
