import Foundation
import NN
import Tensor

/// GradInversion (Yin et al., CVPR 2021, "See through Gradients: Image Batch Recovery via GradInversion"):
/// gradient matching plus a batch-norm prior (at every BatchNorm layer the dummy batch's per-channel mean and
/// variance must match the layer's running statistics, which the server sent with the model), total
/// variation and an L2 image prior, the batch's labels restored first.
///
/// Settings are breaching's `seethroughgradients` attack (read from JonasGeiping/breaching,
/// breaching/config/attack/seethroughgradients.yaml and attacks/auxiliaries), which the side-by-side runs use
/// on both engines: squared-L2 gradient matching, 0.5 sum ||g' - g||^2 scaled by 1e-4; BN prior 0.1 x
/// sum_l m_l (||mu_l - running_mean_l||_2 + ||var_l - running_var_l||_2) with m = 10 for the first BN layer and
/// 1 after it (DeepInversion's hook: biased variance, norms not squared); TV 1e-4; L2 1e-6 x 0.5 mean(x^2);
/// Adam (unsigned) lr 0.1 with a 50-iteration linear warm-up then cosine decay to 0, Langevin noise
/// 0.01 x lr x N(0, 1) added to the image gradient, 20,000 iterations; the image is optimised in the
/// network's (normalised) input space and boxed there to the pixel range after every step; the iterate with
/// the lowest objective is returned. Where breaching differs from the paper: the paper's noise is 0.2 (breaching
/// 0.01), its gradient distance an L2 norm with its own weights, and it adds a group-consistency prior over
/// several seeds (breaching leaves it out). medpfl has it as an option (`group`, default 1: off): G members from
/// their own random starts optimised in lock-step, each pulled towards the members' pixel-wise mean by
/// `group_weight` x ||z_g - mean||_2 (the mean held constant, as AIJack's `group_consistency`; the paper registers
/// the members before averaging, medpfl does not); the returned image is whichever of the members and their mean
/// has the lowest objective without the group term (chosen on the attacker's own objective, never against the
/// original). The paper also jitters and flips the dummy batch at random before every evaluation; medpfl does when
/// `jitter` (pixels, cyclic shift) or `flip` is set (default off, as breaching's configuration). `restarts` runs
/// independent starts (each a group when `group` > 1), the one with the lowest objective kept. medpfl differs from both in two places: labels come from `LabelInference`
/// (LLG+ on these batch-norm models, where it measured better than iLRG; breaching's
/// `yin` strategy takes the B classes with the most negative weight-gradient minimum, which assumes the B
/// labels are distinct), and TV is the mean absolute neighbour difference without breaching's zero-padded
/// border terms.
enum GradInversion: AttackMethod {
    static let key = "gradinversion"
    static let displayName = "GradInversion"
    static let citation = "Yin et al. 2021, See through Gradients: Image Batch Recovery via GradInversion, CVPR"
    static let threatModel = ThreatModel.honestButCurious
    static let assumptions = ["the model, the weights and the batch-norm running statistics the server sent",
                              "labels restored from the update (LLG+ on batch-norm models, iDLG at batch 1)", "the batch size"]

    static var defaults: AttackConfig {
        AttackConfig(kind: AttackKind(registered: key), iterations: 20_000, maxIterPerStep: 1, learningRate: 0.1, initialization: .randn,
                     restarts: 1, tvWeight: 1e-4, earlyStopLoss: nil, signedGradients: false, restartPolicy: .always,
                     extras: ["bn_prior": "0.1", "first_bn": "10", "l2": "1e-06", "match_scale": "0.0001", "langevin": "0.01", "warmup": "50",
                              "group": "1", "group_weight": "0.01", "jitter": "0", "flip": "0"])
    }
    static let parameters: [AttackParameter] = [
        .iterations("Adam iterations."), .learningRate, .initialization, .totalVariation, .restarts,
        .extra("bn_prior", .number(min: 0, inclusive: true), doc: "Weight of the batch-norm statistics prior (0: off, the ablation without it)."),
        .extra("first_bn", .number(min: 0, inclusive: true), doc: "Multiplier of the first batch-norm layer's term."),
        .extra("l2", .number(min: 0, inclusive: true), doc: "Weight of the L2 image prior (0.5 mean x^2 in input space)."),
        .extra("match_scale", .number(min: 0, inclusive: false), doc: "Scale of the squared-L2 gradient matching term."),
        .extra("langevin", .number(min: 0, inclusive: true), doc: "Langevin noise added to the image gradient, times the learning rate."),
        .extra("warmup", .integer(min: 0), doc: "Iterations of linear learning-rate warm-up before the cosine decay."),
        .extra("group", .integer(min: 1, max: 64), doc: "Members of the group-consistency prior (1: off): starts optimised together, each pulled to their mean."),
        .extra("group_weight", .number(min: 0, inclusive: true), doc: "Weight of the group-consistency term ||z - mean||_2."),
        .extra("jitter", .integer(min: 0), doc: "Random cyclic shift of the dummy batch before each evaluation, up to this many pixels (0: off)."),
        .extra("flip", .integer(min: 0), doc: "1: random horizontal flip of the dummy batch before each evaluation (0: off)."),
    ]

    struct Settings {
        let bnPrior, firstBN, l2, matchScale, langevin: Float; let warmup: Int
        var group = 1, groupWeight: Float = 0.01, jitter = 0, flip = false
    }
    static func settings(_ c: AttackConfig) -> Settings {
        var s = Settings(bnPrior: Float(c.extraNumber("bn_prior") ?? 0.1), firstBN: Float(c.extraNumber("first_bn") ?? 10),
                         l2: Float(c.extraNumber("l2") ?? 1e-6), matchScale: Float(c.extraNumber("match_scale") ?? 1e-4),
                         langevin: Float(c.extraNumber("langevin") ?? 0.01), warmup: c.extraInteger("warmup") ?? 50)
        s.group = max(1, c.extraInteger("group") ?? 1)
        s.groupWeight = Float(c.extraNumber("group_weight") ?? 0.01)
        s.jitter = c.extraInteger("jitter") ?? 0
        s.flip = (c.extraInteger("flip") ?? 0) != 0
        return s
    }

    static func inapplicability(model: Model, batchSize: Int) -> String? {
        model.hasBatchNorm ? nil : "GradInversion's prior needs batch-norm layers, and \(model.name) has none"
    }

    static func describe(_ c: AttackConfig) -> String {
        let s = settings(c)
        return "Adam, \(c.iterations) iterations, learning rate \(g(c.learningRate)) (\(s.warmup)-iteration warm-up, cosine decay), squared-L2 gradient matching x \(g(Double(s.matchScale))), "
            + "batch-norm statistics prior \(g(Double(s.bnPrior))) (first layer x \(g(Double(s.firstBN)))), total variation \(g(c.tvWeight)), L2 \(g(Double(s.l2))), "
            + "Langevin noise \(g(Double(s.langevin))), labels restored from the update, \(c.restarts) start\(c.restarts == 1 ? "" : "s") (lowest objective kept)"
            + (s.group > 1 ? ", group consistency over \(s.group) members x \(g(Double(s.groupWeight)))" : "")
            + (s.jitter > 0 || s.flip ? ", random \([s.jitter > 0 ? "jitter up to \(s.jitter) px" : nil, s.flip ? "flips" : nil].compactMap { $0 }.joined(separator: " and "))" : "")
    }

    static func summary(_ c: AttackConfig) -> String {
        "\(c.iterations) Adam iterations, BN prior \(g(Double(settings(c).bnPrior))), \(c.restarts) start\(c.restarts == 1 ? "" : "s")"
    }

    static func g(_ x: Double) -> String { String(format: "%g", x) }

    static func notApplicable(_ c: AttackConfig, _ p: AttackProblem, _ why: String, _ t0: Date) -> AttackResult {
        AttackResult(kind: c.kind, applicable: false, note: "not applicable: \(why)", images: Tensor.zeros(p.imageShape), labels: [],
                     iterations: 0, evaluations: 0, finalLoss: .nan, seconds: Date().timeIntervalSince(t0))
    }

    static func run(_ config: AttackConfig, on p: AttackProblem, seed: UInt64, start: AttackStart?,
                    progress: AttackProgress?) throws -> AttackResult {
        let t0 = Date()
        if let why = inapplicability(model: p.model, batchSize: p.batchSize) { return notApplicable(config, p, why, t0) }
        guard p.update.kind == .gradient else { return notApplicable(config, p, "GradInversion matches one gradient (a FedAvg update was intercepted: use gradinv)", t0) }
        guard case .whole(let graph) = try p.model.graph.plan(batch: p.batchSize, bn: p.bn) else {
            return notApplicable(config, p, "the model's graph runs image by image (an ONNX export for a fixed batch)", t0)
        }
        let labels = Attack.inferLabels(p)
        let objective = GradInversionObjective(graph: graph, problem: p, labels: labels, settings: settings(config), tv: Float(config.tvWeight))
        var rng = SeededGenerator(seed: seed)
        var best: (z: [Float], loss: Double, trace: [Double])? = nil
        var iterations = 0, evaluations = 0
        let members = objective.settings.group
        for r in 0..<max(1, config.restarts) {
            var starts: [[Float]] = []
            for k in 0..<members {
                if r == 0, k == 0, let s = start?.images { starts.append((p.model.inputNormalization.map { $0.apply(s) } ?? s).scalars) }
                else { starts.append(Tensor.randn(p.imageShape, using: &rng).scalars) }
            }
            let o = members == 1 ? objective.adam(starts[0], config: config, rng: &rng, progress: progress)
                : objective.adamGroup(starts, config: config, rng: &rng, progress: progress)
            iterations += o.iterations; evaluations += (o.iterations + 1) * members + (members > 1 ? 1 : 0)
            if best == nil || (o.loss.isFinite && !(best!.loss <= o.loss)) { best = (o.z, o.loss, o.trace) }
        }
        let z = Tensor(shape: p.imageShape, data: best!.z)
        let images = GradMode.withoutGrad { (p.model.inputNormalization.map { $0.invert(z) } ?? z).clamp(min: 0, max: 1) }
        return AttackResult(kind: config.kind, applicable: true, note: nil, images: images, labels: labels, iterations: iterations,
                            evaluations: evaluations, finalLoss: best!.loss, seconds: Date().timeIntervalSince(t0),
                            lossTrace: best!.trace)
    }
}

/// GradInversion's objective on the dummy batch z (in the network's input space) and its optimisation.
/// It lives on the attacking thread only.
struct GradInversionObjective {
    let graph: Graph
    let params: [Tensor]
    let buffers: [Tensor]
    let bn: BNMode
    let target: [Tensor]
    let labels: [Int]
    let settings: GradInversion.Settings
    let tv: Float
    /// Per-channel box of the input space: pixel 0 and 1 mapped through the normalisation.
    let lower: [Float], upper: [Float]
    let channels: Int, plane: Int
    let inputShape: [Int]

    init(graph: Graph, problem p: AttackProblem, labels: [Int], settings: GradInversion.Settings, tv: Float) {
        self.graph = graph
        params = p.state.parameters.map { $0.detached(requiresGrad: true) }
        buffers = p.state.buffers; bn = p.bn
        target = p.update.tensors.map { $0.detached() }
        self.labels = labels; self.settings = settings; self.tv = tv
        inputShape = p.model.inputShape
        channels = p.model.inputShape[0]; plane = p.model.inputShape.dropFirst().reduce(1, *)
        if let n = p.model.inputNormalization {
            lower = (0..<channels).map { -n.mean[$0] / n.std[$0] }; upper = (0..<channels).map { (1 - n.mean[$0]) / n.std[$0] }
        } else { lower = Array(repeating: 0, count: channels); upper = Array(repeating: 1, count: channels) }
    }

    /// The objective and its gradient with respect to z, on z shifted by (dy, dx) pixels (cyclically) and flipped
    /// horizontally when `flip`: those are permutations of the pixels, so the gradient is the transformed image's
    /// gradient permuted back.
    func evaluate(_ z: Tensor, shift: (dy: Int, dx: Int), flip: Bool) -> (loss: Float, grad: [Float]) {
        if shift.dy == 0 && shift.dx == 0 && !flip { return evaluate(z) }
        let h = inputShape[1], w = inputShape[2], n = z.count
        // source index of each pixel of the transformed image
        var from = [Int](repeating: 0, count: n)
        let planes = n / (h * w)
        for q in 0..<planes {
            for y in 0..<h {
                let sy = ((y - shift.dy) % h + h) % h
                for x in 0..<w {
                    var sx = ((x - shift.dx) % w + w) % w
                    if flip { sx = w - 1 - sx }
                    from[q * h * w + y * w + x] = q * h * w + sy * w + sx
                }
            }
        }
        let zs = z.scalars
        let moved = Tensor(shape: z.shape, data: from.map { zs[$0] })
        let (loss, g) = evaluate(moved)
        var back = [Float](repeating: 0, count: n)
        for i in 0..<n { back[from[i]] += g[i] }
        return (loss, back)
    }

    /// The transformation of one evaluation: a shift within ±jitter and a coin for the flip, from the attack's generator.
    func augmentation(_ rng: inout SeededGenerator) -> Augmentation {
        var shift = (dy: 0, dx: 0)
        if settings.jitter > 0 {
            let span = UInt64(2 * settings.jitter + 1)
            shift = (Int(rng.next() % span) - settings.jitter, Int(rng.next() % span) - settings.jitter)
        }
        return (shift, settings.flip && rng.next() & 1 == 1)
    }

    /// The objective and its gradient with respect to z.
    func evaluate(_ z: Tensor) -> (loss: Float, grad: [Float]) {
        let x = z.detached(requiresGrad: true)
        // The graph on the input space directly, keeping every batch-norm layer's input.
        var context = GraphContext(buffers: buffers, bn: bn)
        var values: [Tensor] = []
        var bnInputs: [(Tensor, Int, Int)] = []
        func value(_ v: GraphValue) -> Tensor {
            switch v {
            case .input: return x
            case .parameter(let i): return params[i]
            case .buffer(let i): return context.buffers[i]
            case .constant(let i): return graph.constants[i]
            case .node(let i): return values[i]
            }
        }
        for node in graph.nodes {
            let ins = node.inputs.map(value)
            if let b = node.op as? BatchNormOp { bnInputs.append((ins[0], b.mean, b.variance)) }
            values.append(node.op.run(ins, &context))
        }
        let logits = value(graph.output)
        let g = grad(of: crossEntropy(logits, labels: labels), wrt: params, createGraph: true)
        var match: Tensor? = nil
        for (a, b) in zip(g, target) { let s = squaredDistance(a, b); match = match.map { $0 + s } ?? s }
        var total = match! * (0.5 * settings.matchScale)
        if settings.bnPrior > 0 {
            for (k, (h, mi, vi)) in bnInputs.enumerated() {
                let axes = [0] + Array(2..<h.rank)
                let mean = h.mean(axes: axes, keepDims: true)
                let centred = h - mean
                let variance = (centred * centred).mean(axes: axes)
                let dm = mean.reshaped([h.shape[1]]) - buffers[mi], dv = variance - buffers[vi]
                let term = (dot(dm, dm).clamp(min: 1e-30)).sqrt() + (dot(dv, dv).clamp(min: 1e-30)).sqrt()
                total = total + term * (settings.bnPrior * (k == 0 ? settings.firstBN : 1))
            }
        }
        if tv > 0 { total = total + totalVariation(x) * tv }
        if settings.l2 > 0 { total = total + (x * x).mean() * (0.5 * settings.l2) }
        let gz = grad(of: total, wrt: [x])[0]
        return (total.scalar, gz.scalars)
    }

    struct Outcome {
        let z: [Float]; let loss: Double; let iterations: Int; let trace: [Double]
        /// The last iterate of every member (one without group consistency).
        var members: [[Float]] = []
    }

    /// torch Adam (betas 0.9/0.999, eps 1e-8) with warm-up then cosine decay, Langevin noise on the
    /// gradient, the box after every step; the iterate with the lowest objective is kept.
    func adam(_ z0: [Float], config: AttackConfig, rng: inout SeededGenerator, progress: AttackProgress?) -> Outcome {
        let n = config.iterations, lr0 = config.learningRate
        var z = z0
        var m = [Float](repeating: 0, count: z.count), v = m
        var best = (z: z0, loss: Double.infinity)
        var done = 0
        var trace: [Double] = []
        trace.reserveCapacity(n)
        for t in 0..<n {
            let lr = learningRate(t, of: n, base: lr0)
            let aug = augmenting ? augmentation(&rng) : GradInversionObjective.identity
            let (loss, gradient) = evaluate(Tensor(shape: imageShape(z.count), data: z), shift: aug.shift, flip: aug.flip)
            guard loss.isFinite else { break }
            trace.append(Double(loss))
            // A loss on a shifted or flipped batch does not judge the batch itself: then only the final iterate is judged.
            if !augmenting && Double(loss) < best.loss { best = (z, Double(loss)) }
            let noise = settings.langevin > 0 ? Tensor.randn([z.count], using: &rng).scalars : []
            adamStep(&z, &m, &v, gradient: gradient, noise: noise, lr: lr, t: t)
            done = t + 1
            if t % 10 == 0 || t == n - 1 { progress?(t + 1, n, Double(loss)) }
        }
        let final = evaluate(Tensor(shape: imageShape(z.count), data: z)).loss
        if Double(final) < best.loss { best = (z, Double(final)) }
        return Outcome(z: best.z, loss: best.loss, iterations: done, trace: trace, members: [z])
    }

    /// Group consistency (Yin et al. 2021): the members step in lock-step with the same learning-rate schedule, each
    /// objective plus `groupWeight` x ||z_g - mean||_2 with the members' current mean held constant. The members, and at
    /// the end their mean, are judged by the objective without the group term; the lowest is returned, its trace the
    /// first member's.
    func adamGroup(_ starts: [[Float]], config: AttackConfig, rng: inout SeededGenerator, progress: AttackProgress?) -> Outcome {
        let n = config.iterations, lr0 = config.learningRate, count = starts[0].count
        let members = starts.count
        var z = starts
        var m = [[Float]](repeating: [Float](repeating: 0, count: count), count: members), v = m
        var best = (z: starts[0], loss: Double.infinity)
        var alive = [Bool](repeating: true, count: members)
        var done = 0
        var trace: [Double] = []
        trace.reserveCapacity(n)
        for t in 0..<n {
            let lr = learningRate(t, of: n, base: lr0)
            let live = (0..<members).filter { alive[$0] }
            guard !live.isEmpty else { break }
            var mean = [Float](repeating: 0, count: count)
            for k in live { for i in 0..<count { mean[i] += z[k][i] } }
            for i in 0..<count { mean[i] /= Float(live.count) }
            for k in live {
                let aug = augmenting ? augmentation(&rng) : GradInversionObjective.identity
                var (loss, gradient) = evaluate(Tensor(shape: imageShape(count), data: z[k]), shift: aug.shift, flip: aug.flip)
                guard loss.isFinite else { alive[k] = false; continue }
                if k == 0 { trace.append(Double(loss)) }
                if !augmenting && Double(loss) < best.loss { best = (z[k], Double(loss)) }
                if settings.groupWeight > 0 && live.count > 1 {
                    var norm: Float = 0
                    for i in 0..<count { let d = z[k][i] - mean[i]; norm += d * d }
                    norm = norm.squareRoot()
                    if norm > 1e-12 { for i in 0..<count { gradient[i] += settings.groupWeight * (z[k][i] - mean[i]) / norm } }
                }
                let noise = settings.langevin > 0 ? Tensor.randn([count], using: &rng).scalars : []
                adamStep(&z[k], &m[k], &v[k], gradient: gradient, noise: noise, lr: lr, t: t)
            }
            done = t + 1
            if t % 10 == 0 || t == n - 1 { progress?(t + 1, n, trace.last ?? .nan) }
        }
        let last = z
        var finals = (0..<members).filter { alive[$0] }.map { z[$0] }
        if finals.count > 1 {
            var mean = [Float](repeating: 0, count: count)
            for f in finals { for i in 0..<count { mean[i] += f[i] } }
            finals.append(mean.map { $0 / Float(finals.count) })
        }
        for f in finals {
            let loss = evaluate(Tensor(shape: imageShape(count), data: f)).loss
            if loss.isFinite && Double(loss) < best.loss { best = (f, Double(loss)) }
        }
        return Outcome(z: best.z, loss: best.loss, iterations: done, trace: trace, members: last)
    }

    /// The learning rate of iteration t of n: a linear warm-up over `warmup` iterations, then cosine decay to 0.
    func learningRate(_ t: Int, of n: Int, base lr0: Double) -> Double {
        let warm = settings.warmup
        if t < warm { return lr0 * Double(t + 1) / Double(warm) }
        return 0.5 * lr0 * (1 + Foundation.cos(Double.pi * Double(t - warm) / Double(max(1, n - warm))))
    }

    /// One step of torch's Adam (betas 0.9/0.999, eps 1e-8; t counted from 0) on z, with `noise` (Langevin, empty
    /// for none) times `langevin` x lr added to the gradient, then the box of the input space.
    func adamStep(_ z: inout [Float], _ m: inout [Float], _ v: inout [Float], gradient: [Float], noise: [Float], lr: Double, t: Int) {
        let b1 = 0.9, b2 = 0.999
        let c1 = 1 - Foundation.pow(b1, Double(t + 1)), c2 = 1 - Foundation.pow(b2, Double(t + 1))
        for i in 0..<z.count {
            var gi = gradient[i]
            if !noise.isEmpty { gi += settings.langevin * Float(lr) * noise[i] }
            m[i] = Float(b1) * m[i] + Float(1 - b1) * gi
            v[i] = Float(b2) * v[i] + Float(1 - b2) * gi * gi
            let step = Float(lr) * (m[i] / Float(c1)) / ((v[i] / Float(c2)).squareRoot() + 1e-8)
            let c = (i / plane) % channels
            z[i] = Swift.max(Swift.min(z[i] - step, upper[c]), lower[c])
        }
    }

    func imageShape(_ count: Int) -> [Int] { [count / (channels * plane)] + inputShape }

    typealias Augmentation = (shift: (dy: Int, dx: Int), flip: Bool)
    static let identity: Augmentation = (shift: (dy: 0, dx: 0), flip: false)

    /// Whether each evaluation sees a randomly shifted or flipped batch.
    var augmenting: Bool { settings.jitter > 0 || settings.flip }
}
