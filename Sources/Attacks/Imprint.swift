import Foundation
import NN
import Tensor

/// Robbing the Fed (Fowl et al., ICLR 2022): a malicious server puts an imprint block in front of the site's
/// model before sending it. The block is a linear layer of N bins whose rows all measure one statistic of the
/// image (here its mean brightness in pixel space), with biases at that statistic's quantiles, then ReLU,
/// then a linear layer back to the input's size, added to the input (a residual, so the model still
/// classifies). Bin i fires for every image brighter than threshold t_i, so consecutive bins differ by the
/// images whose brightness lies between their thresholds, and an image alone in such a gap is read exactly
/// out of the update: x = (dW_i - dW_{i+1}) / (db_i - db_{i+1}). Under secure aggregation the attacker sees
/// the mean of K clients' updates and the same holds for an image alone in its gap among all K x B images.
///
/// Settings follow breaching's `malicious-model-rtf` case and `imprint` attack (64 bins; "weight" breach
/// reduction: when more gaps fire than there are images, the B whose weight-gradient rows have the largest
/// mean magnitude are kept; missing images padded with the mean image), except the statistic: breaching's
/// image case uses a DCT-mode query with Laplace bins; the paper's image experiments use the mean brightness
/// with Gaussian bins, which is what medpfl does, with the brightness distribution (mean, std) the server
/// assumes taken from public medical images (the 406 images of the shared medical sample: 0.43 +- 0.22, see
/// `defaultBrightness`). A server with a better prior only gets more images out.
enum Imprint: AttackMethod {
    static let key = "imprint"
    static let differentiatesGradient = false
    static let displayName = "Imprint (Robbing the Fed)"
    static let citation = "Fowl et al. 2022, Robbing the Fed: Directly Obtaining Private Data in Federated Learning with Modified Models, ICLR"
    static let threatModel = ThreatModel.maliciousServer
    static let assumptions = ["a server that modifies the model it sends (an imprint block in front of the site's architecture)",
                              "the batch size", "a prior on the images' mean brightness (from public images)"]
    /// Mean and standard deviation of the mean pixel brightness (all channels) of the 406 public images of the
    /// project's medical sample (../shared/datasets/medical-sample/full), by scripts/experiments/brightness_prior.py.
    static let defaultBrightness = (mean: 0.43, std: 0.22)
    static let prefix = "imprint."

    static var defaults: AttackConfig {
        AttackConfig(kind: AttackKind(registered: key), iterations: 0, maxIterPerStep: 0, learningRate: 0, initialization: .constant,
                     restarts: 1, tvWeight: 0, earlyStopLoss: nil, signedGradients: false,
                     extras: ["bins": "64", "brightness_mean": AttackParameter.format(defaultBrightness.mean),
                              "brightness_std": AttackParameter.format(defaultBrightness.std)])
    }
    static let parameters: [AttackParameter] = [
        .extra("bins", .integer(min: 2), doc: "Bins of the imprint block (rows of its first linear layer)."),
        .extra("brightness_mean", .number(min: 0, inclusive: true), doc: "Mean brightness of an image (pixel mean in [0, 1]) the server assumes."),
        .extra("brightness_std", .number(min: 0, inclusive: false), doc: "Its standard deviation: the bins' thresholds sit at the Gaussian quantiles i / bins."),
    ]

    struct Settings { let bins: Int; let mean: Double; let std: Double }
    static func settings(_ c: AttackConfig) -> Settings {
        Settings(bins: c.extraInteger("bins") ?? 64, mean: c.extraNumber("brightness_mean") ?? defaultBrightness.mean,
                 std: c.extraNumber("brightness_std") ?? defaultBrightness.std)
    }

    static func describe(_ c: AttackConfig) -> String {
        let s = settings(c)
        return "malicious server: an imprint block of \(s.bins) bins on the mean brightness (Gaussian thresholds, mean \(AttackParameter.format(s.mean)), "
            + "std \(AttackParameter.format(s.std))) put in front of the model; each image alone between two thresholds is read exactly from the block's gradients"
    }

    static func summary(_ c: AttackConfig) -> String { "imprint block, \(settings(c).bins) bins" }

    /// The bins' thresholds in brightness: t_0 far below any image (so bin 0 always fires, as breaching's
    /// -10 sigma), then the Gaussian quantiles i / N.
    static func thresholds(_ s: Settings) -> [Double] {
        [s.mean - 10 * s.std] + (1..<s.bins).map { s.mean + s.std * normalQuantile(Double($0) / Double(s.bins)) }
    }

    static func servedModel(_ config: AttackConfig, model: Model, state: ModelState, seed: UInt64) throws -> (model: Model, state: ModelState)? {
        let s = settings(config)
        let shape = model.inputShape, d = shape.reduce(1, *), n = s.bins
        guard Double(d) * Double(n) * 2 * 4 < Double(1 << 34) else {
            throw AttackParameterError("an imprint block of \(n) bins on \(shape.map(String.init).joined(separator: "x")) inputs needs \(2 * d * n) weights: too many")
        }
        let norm = model.inputNormalization
        let plane = d / shape[0]
        // Row weights: pixel brightness = sum_d std_c / D * z_d + mean_c(mean_c), for z the normalised input.
        var row = [Float](repeating: 1 / Float(d), count: d)
        var offset = 0.0
        if let nz = norm {
            for c in 0..<shape[0] { for j in 0..<plane { row[c * plane + j] = nz.std[c] / Float(d) } }
            offset = nz.mean.reduce(0.0) { $0 + Double($1) } / Double(shape[0])
        }
        let t = thresholds(s)
        var w0 = [Float](); w0.reserveCapacity(n * d)
        for _ in 0..<n { w0 += row }
        let b0 = t.map { Float(offset - $0) }
        let w1 = [Float](repeating: 1 / Float(n), count: d * n), b1 = [Float](repeating: 0, count: d)
        let specs = [
            TensorSpec(name: prefix + "linear0.weight", shape: [n, d], isParameter: true, initializer: .values(w0)),
            TensorSpec(name: prefix + "linear0.bias", shape: [n], isParameter: true, initializer: .values(b0)),
            TensorSpec(name: prefix + "linear1.weight", shape: [d, n], isParameter: true, initializer: .values(w1)),
            TensorSpec(name: prefix + "linear1.bias", shape: [d], isParameter: true, initializer: .values(b1)),
        ]
        let block = InputBlock(parameters: specs, nodes: [
            (prefix + "flatten", FlattenOp(axis: 1), [.input]),
            (prefix + "linear0", LinearOp(), [.node(0), .parameter(0), .parameter(1)]),
            (prefix + "relu", UnaryOp(.relu), [.node(1)]),
            (prefix + "linear1", LinearOp(), [.node(2), .parameter(2), .parameter(3)]),
            (prefix + "unflatten", UnflattenOp(shape), [.node(3)]),
            (prefix + "add", BinaryOp(.add), [.input, .node(4)]),
        ], output: .node(5))
        let served = try model.prepending(block, name: model.name + "+imprint")
        // Refuse a block this machine cannot hold an attack for (its weights enter the update and its graph).
        try served.requireFits(batch: 1, bn: .eval)
        let values = [Tensor(shape: [n, d], data: w0), Tensor(shape: [n], data: b0), Tensor(shape: [d, n], data: w1), Tensor(shape: [d], data: b1)]
        return (served, ModelState(parameters: state.parameters + values, buffers: state.buffers))
    }

    static func run(_ config: AttackConfig, on p: AttackProblem, seed: UInt64, start: AttackStart?,
                    progress: AttackProgress?) throws -> AttackResult {
        let t0 = Date()
        let names = p.model.parameterNames
        guard let wi = names.firstIndex(of: prefix + "linear0.weight"), let bi = names.firstIndex(of: prefix + "linear0.bias") else {
            return AttackResult(kind: config.kind, applicable: false, note: "not applicable: the update was not computed on a model with an imprint block",
                                images: Tensor.zeros(p.imageShape), labels: [], iterations: 0, evaluations: 0, finalLoss: .nan,
                                seconds: Date().timeIntervalSince(t0))
        }
        let gw = p.update[wi].scalars, gb = p.update[bi].scalars
        let n = gb.count, d = gw.count / max(n, 1)
        // Gap i holds the images between thresholds i and i + 1 (the last: above the last threshold).
        var hits: [(row: [Double], bias: Double, strength: Double)] = []
        for i in 0..<n {
            let db = Double(gb[i]) - (i + 1 < n ? Double(gb[i + 1]) : 0)
            guard db != 0, db.isFinite else { continue }
            var row = [Double](repeating: 0, count: d), mean = 0.0
            for j in 0..<d {
                let v = Double(gw[i * d + j]) - (i + 1 < n ? Double(gw[(i + 1) * d + j]) : 0)
                row[j] = v; mean += v
            }
            hits.append((row, db, Swift.abs(mean / Double(d))))
        }
        let found = hits.count
        if hits.count > p.batchSize {
            hits = Array(hits.enumerated().sorted { $0.element.strength > $1.element.strength || ($0.element.strength == $1.element.strength && $0.offset < $1.offset) }
                .prefix(p.batchSize).map(\.element))
        }
        // Each hit in the normalised space the block reads; back to pixels; the rest padded with the mean image.
        var z = [Float](repeating: 0, count: p.batchSize * d)
        for (k, h) in hits.enumerated() { for j in 0..<d { z[k * d + j] = Float(h.row[j] / h.bias) } }
        let seen = Tensor(shape: p.imageShape, data: z)
        var images = p.model.inputNormalization.map { $0.invert(seen) } ?? seen
        if p.model.inputNormalization == nil && hits.count < p.batchSize {
            var v = images.scalars
            for k in hits.count..<p.batchSize { for j in 0..<d { v[k * d + j] = 0.5 } }
            images = Tensor(shape: p.imageShape, data: v)
        }
        images = GradMode.withoutGrad { images.clamp(min: 0, max: 1) }
        progress?(1, 1, 0)
        let note = "\(found) of \(n) gaps fired for \(p.batchSize) image\(p.batchSize == 1 ? "" : "s")"
            + (found > p.batchSize ? "; the \(p.batchSize) strongest kept" : "")
        return AttackResult(kind: config.kind, applicable: true, note: note, images: images, labels: Attack.inferLabels(p),
                            iterations: 0, evaluations: 0, finalLoss: 0, seconds: Date().timeIntervalSince(t0))
    }
}

/// The standard normal quantile Phi^-1(p) for 0 < p < 1 (Acklam's rational approximation, then one Halley
/// step on erfc: about 1e-15 relative).
func normalQuantile(_ p: Double) -> Double {
    precondition(p > 0 && p < 1)
    let a = [-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02, 1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00]
    let b = [-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02, 6.680131188771972e+01, -1.328068155288572e+01]
    let c = [-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00, -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00]
    let d = [7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00, 3.754408661907416e+00]
    let lo = 0.02425
    var x: Double
    if p < lo {
        let q = (-2 * Foundation.log(p)).squareRoot()
        x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1)
    } else if p <= 1 - lo {
        let q = p - 0.5, r = q * q
        x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1)
    } else {
        let q = (-2 * Foundation.log(1 - p)).squareRoot()
        x = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1)
    }
    let e = 0.5 * erfc(-x / 2.0.squareRoot()) - p
    let u = e * (2 * Double.pi).squareRoot() * Foundation.exp(x * x / 2)
    return x - u / (1 + x * u / 2)
}
