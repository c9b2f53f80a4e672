import ArgumentParser
import Attacks
import Evaluation
import Federated
import Foundation
import Imaging
import Metrics
import NN
import SafeIO
import Tensor

extension AttackKind: ExpressibleByArgument {
    public init?(argument: String) { self.init(rawValue: argument) }
    public static var allValueStrings: [String] { AttackRegistry.keys }
}
extension InitScheme: ExpressibleByArgument {}
extension AttackConfig.RestartPolicy: ExpressibleByArgument {}

struct AttackCommand: ParsableCommand {
    /// The most images one `attack` run draws from a folder.
    static let maximumCount = 10_000
    static let configuration = CommandConfiguration(
        commandName: "attack",
        abstract: "Run a gradient-leakage attack on real images (or on a captured update) and score it.",
        discussion: "In-process mode: the update is computed from --image/--images, then attacked; the images are used "
            + "only to score the final reconstruction. Captured mode (--update FILE): the attacker sees only the "
            + "update and the model weights; give --image/--label as well to score against the originals. "
            + "The reported reconstruction is the final iterate (over restarts: the lowest gradient loss), never one "
            + "chosen by comparing with the originals. --defense is applied on each client before the update "
            + "leaves it; with secagg:clients=K every attacked update is the mean of K clients' updates (each "
            + "client holds --batch images), so the attack recovers a batch of K x --batch images and is scored "
            + "against all of them (SSIM-maximising matching). --fedavg-steps S attacks a FedAvg weight difference "
            + "by simulating the S local steps on the dummy batch. --start and --trace reproduce and follow a run "
            + "step by step (scripts/experiments/torch_crosscheck.py writes PyTorch's weights, update and start for "
            + "it). stdout holds JSON only (--json); progress goes to stderr.\n\nAttacks and their settings "
            + "(override with --param KEY=VALUE, or the options below):\n" + AttackRegistry.text)

    @Option(help: "The attack: \(AttackRegistry.keysInWords) (each with its settings below; `medpfl attacks` lists them).") var attack: AttackKind
    @Option(name: .customLong("param"), help: ArgumentHelp("Set one of the attack's settings (repeatable), e.g. --param max_iter=10; the keys are listed below.", valueName: "key=value"))
    var params: [String] = []
    @OptionGroup var model: ModelOptions
    @OptionGroup var images: ImageOptions
    @Option(name: [.customLong("images"), .customLong("images-dir")],
            help: "An ImageFolder (one sub-folder per class) to draw --count images from.") var imagesDir: String?
    @Option(help: "Images drawn from --images, evenly over the classes (seeded).") var count: Int = 6
    @Option(name: .customLong("labels"), help: "A labels CSV (columns path,label; paths relative to --images) for a folder of files without class sub-folders.")
    var labelsFile: String?
    @Option(help: "Images per client update (per attacked update without secure aggregation).") var batch: Int = 1
    @OptionGroup var defence: DefenceOptions
    @OptionGroup var fedavg: FedAvgOptions
    @Option(help: "A captured update (safetensors, as `medpfl update` writes) to attack instead of computing one.") var update: String?
    @Option(help: "Override the attack's iterations (L-BFGS steps or Adam iterations).") var iterations: Int?
    @Option(help: "Override the number of restarts (the start with the lowest matching loss is reported).") var restarts: Int?
    @Option(help: "Stop restarting once a start's matching loss is below this.") var satisfiedLoss: Double?
    @Option(help: "When to try another start: unsatisfied (while no start reached --satisfied-loss; default of dlg, idlg, cpl), on-stall (only after an unsatisfied start that stalled) or always (every one of --restarts).") var restartPolicy: AttackConfig.RestartPolicy?
    @Option(help: "Override the initialisation: \(InitScheme.allCases.map(\.rawValue).joined(separator: ", ")).") var initialization: InitScheme?
    @Option(help: "Start the first restart from this dummy batch (safetensors: 'x' (B,C,H,W) and, for dlg, 'logits' (B,classes)) instead of a random draw, e.g. to reproduce another implementation's run from the same point.") var start: String?
    @Option(help: "Write the loss after every optimiser step (L-BFGS step, every 10th Adam iteration) here as JSON lines {update, step, loss}; a new start begins again at step 1.") var trace: String?
    @Option(help: "Override the total-variation weight.") var tv: Double?
    @Option(help: "Stop early below this matching loss.") var earlyStop: Double?
    @Option(help: "SSIM at or above which a reconstruction counts as a success.") var threshold: Double = 0.9
    @Option(help: "Write originals and reconstructions here as PNG (folder 0700, files 0600).") var out: String?
    @Flag(help: "Print JSON results on stdout.") var json = false
    @Flag(help: "No progress line on stderr.") var quiet = false
    @OptionGroup var parallel: ParallelOptions

    struct SampleJSON: Encodable {
        let image: String, trueLabel: Int, recoveredLabel: Int?
        let mse: Double, psnr: Double, ssim: Double, success: Bool
        let iterations: Int, finalLoss: Double, seconds: Double
        /// Re-identification rank and prior guess (`ImageEvidence`), and whether the attack was still improving.
        var evidence: ImageEvidence? = nil
        var convergence: Convergence? = nil
    }
    struct Aggregate: Encodable {
        let attack: String, model: String, images: Int, asr: Double, meanSSIM: Double, meanMSE: Double, meanPSNR: Double
        let labelAccuracy: Double, secondsPerImage: Double, wallSeconds: Double
        /// Every figure with its 95% interval, re-identification, RDLV and convergence (`CellStatistics`).
        var statistics: CellStatistics? = nil
    }
    struct Output: Encodable {
        let samples: [SampleJSON]; let aggregate: Aggregate; let config: AttackConfig; let note: String?; let defence: DefenceReport?
    }

    /// The attack's settings: its defaults, then the options and every --param, each checked against the
    /// attack's own parameters (the registry's), as an audit file's overrides are.
    func attackConfig() throws -> AttackConfig {
        let method = attack.method
        var config = method.defaults
        var given: [(String, String)] = []
        if let v = iterations { given.append(("iterations", String(v))) }
        if let v = restarts { given.append(("restarts", String(v))) }
        if let v = initialization { given.append(("init", v.rawValue)) }
        if let v = tv { given.append(("tv", String(v))) }
        if let v = earlyStop { given.append(("early_stop", String(v))) }
        if let v = satisfiedLoss { given.append(("satisfied_loss", String(v))) }
        if let v = restartPolicy { given.append(("restart_policy", v.rawValue)) }
        for p in params {
            let parts = p.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, !parts[0].isEmpty else { throw InputError("--param expects key=value, got '\(p)'") }
            given.append((parts[0], parts[1]))
        }
        for (key, text) in given {
            guard let p = method.parameters.first(where: { $0.key == key }) else {
                let keys = method.parameters.map(\.key)
                throw InputError("\(method.key) takes no setting '\(key)'" + (keys.isEmpty ? "" : " (it takes \(keys.joined(separator: ", ")))"))
            }
            do { try p.set(text: text, in: &config) } catch let e as AttackParameterError { throw InputError(e.description) }
        }
        return config
    }

    func validate() throws {
        if labelsFile != nil && imagesDir == nil { throw ValidationError("--labels is the CSV of an --images folder: give --images too") }
        do { _ = try attackConfig() } catch let e as InputError { throw ValidationError(e.message) }
        guard batch >= 1 else { throw ValidationError("--batch must be at least 1") }
        guard (1...Self.maximumCount).contains(count) else { throw ValidationError("--count must be between 1 and \(Self.maximumCount), got \(count)") }
        guard threshold.isFinite, threshold > 0, threshold <= 1 else { throw ValidationError("--threshold is an SSIM: a number in (0, 1], got \(threshold)") }
        if let i = iterations, i < 1 { throw ValidationError("--iterations must be at least 1") }
        if let r = restarts, r < 1 { throw ValidationError("--restarts must be at least 1") }
        for (name, v) in [("--tv", tv), ("--early-stop", earlyStop), ("--satisfied-loss", satisfiedLoss)] {
            if let v, !(v.isFinite && v >= 0) { throw ValidationError("\(name) must be a finite number >= 0, got \(v)") }
        }

    }

    func run() throws {
        let t0 = Date()
        let spec = try defence.spec()
        let kind = try fedavg.kind()
        if update != nil && (!spec.isNone || fedavg.given) {
            throw InputError("--defense and --fedavg-* describe how an update is made: a captured --update already holds them")
        }
        // Every attacked update holds `batch` images per client (secure aggregation: clients x batch).
        let attackedBatch = batch * max(1, spec.secureAggregationClients ?? 1)
        let config = try attackConfig()
        let loaded = try model.load(batch: attackedBatch, secondOrder: config.kind.method.differentiatesGradient)
        let m = loaded.model

        // Samples (originals), if any.
        var paths: [String] = [], labels: [Int] = []
        if let dir = imagesDir {
            let folder = try input { () throws -> ImageFolder in
                if let l = labelsFile { return try ImageFolder(root: dir, labels: l, options: images.readOptions) }
                return try ImageFolder(root: dir, options: images.readOptions)
            }
            var rng = SeededGenerator(seed: model.seed).derived("select")
            guard count <= folder.samples.count else {
                throw InputError("--count \(count), but \(dir) holds only \(folder.samples.count) images")
            }
            let picked = selectEvenly(labels: folder.labels, count: count, rng: &rng)
            paths = picked.map { folder.samples[$0].path }; labels = picked.map { folder.samples[$0].label }
        }
        let size = m.inputShape[1]
        var originals: Tensor? = nil
        if imagesDir == nil && (images.tensor != nil || !images.imagePaths.isEmpty) {
            try input { try Scoring.requireScorable(m.inputShape) }
            let b = try images.load(shape: m.inputShape, classes: m.classes)
            originals = b.x; paths = b.names; labels = b.labels
        } else if !paths.isEmpty {
            try input { try Scoring.requireScorable(m.inputShape) }
            originals = try ImageOptions.load(paths: paths, labels: labels, size: size, channels: m.inputShape[0], method: images.resize, classes: m.classes,
                                              options: images.readOptions).x
        }
        // The updates the attacker intercepts: read from a file, or made by the clients (library: AttackPipeline).
        var jobs: [AttackJob] = [], ranges: [Range<Int>] = [], rounds: [InterceptedRound] = []
        func attackSeed(_ i: Int) -> UInt64 { SeededGenerator(seed: model.seed).derived("attack-\(i)").seed }
        if let u = update {
            let stored = try input { try Safetensors.read(u) }
            let tensors = try input { () throws -> [Tensor] in
                try m.parameters.map { spec in
                    guard let t = stored.tensors[spec.name] else { throw InputError("update \(u) lacks '\(spec.name)' for model \(m.name)") }
                    guard t.shape == spec.shape else { throw InputError("update \(u): '\(spec.name)' has shape \(t.shape), model needs \(spec.shape)") }
                    return t.tensor
                }
            }
            let b = Int(stored.metadata["batch"] ?? "") ?? batch
            let clients = Int(stored.metadata["clients"] ?? "") ?? 1
            let storedKind = try input { try UpdateKind(metadata: stored.metadata) }
            guard clients >= 1, b % clients == 0 else { throw InputError("update \(u): a batch of \(b) does not split over \(clients) clients") }
            if let o = originals, o.shape[0] != b { throw InputError("the update holds a batch of \(b) but \(o.shape[0]) reference images were given") }
            let problem = AttackProblem(model: m, state: loaded.state, bn: model.bn, update: tensors, batchSize: b, kind: storedKind, clients: clients)
            jobs = [AttackJob(problem: problem, seed: attackSeed(0), originals: originals, labels: originals == nil ? nil : labels)]
            ranges = [0..<b]
        } else {
            guard let x = originals else { throw InputError("give --image/--label, --images DIR, or --update") }
            // The model the server sends: the site's, or a malicious server's modification (imprint).
            let served = try input { try AttackPipeline.served(config, model: m, state: loaded.state, seed: model.seed) }
            let made = try input {
                try AttackPipeline.updates(images: x, labels: labels, batch: batch, kind: kind, model: served.model, state: served.state,
                                           bn: model.bn, defence: spec, seed: model.seed)
            }
            // Re-identification ranks each reconstruction among every image given (at least two are needed).
            let reference = x.shape[0] >= 2 ? try input { try ReferencePool(images: x, ids: Array(0..<x.shape[0]), model: m, state: loaded.state) } : nil
            for (k, (range, round)) in made.enumerated() {
                rounds.append(round); ranges.append(range)
                jobs.append(AttackJob(problem: AttackPipeline.problem(round, model: served.model, state: served.state, bn: model.bn), seed: attackSeed(k),
                                      originals: x.narrowed([range, 0..<3, 0..<size, 0..<size]), labels: Array(labels[range]),
                                      reference: reference.map { ($0, Array(range)) }))
            }
        }

        var given: AttackStart? = nil
        if let f = start {
            guard jobs.count == 1 else { throw InputError("--start gives one dummy batch, but \(jobs.count) updates are attacked") }
            let stored = try input { try Safetensors.read(f) }
            guard let x = stored.tensors["x"] else { throw InputError("start \(f) lacks tensor 'x'") }
            given = AttackStart(images: x.tensor, logits: stored.tensors["logits"]?.tensor)
            do { try given!.check(for: jobs[0].problem, kind: config.kind) } catch let e as AttackStartError { throw InputError("start \(f): \(e.description)") }
        }
        // Every update's attack in parallel (one BLAS thread each), then scored against the originals.
        let progress = ProgressLine(total: jobs.count, enabled: !quiet)
        let tracer = trace.map { _ in TraceLog() }
        let outcomes = try AttackPipeline.run(jobs, config: config, start: given, threshold: threshold, workers: parallel.resolved.jobs, threads: parallel.resolved.threads) { i, it, total, loss in
            progress.update(i, it, total, loss)
            tracer?.append(i, it, loss)
        }
        progress.finish()
        if let f = trace, let t = tracer { try t.write(to: f) }
        let wall = Date().timeIntervalSince(t0)

        var rows: [SampleJSON] = []
        var recon: [(Int, RGBImage, RGBImage?)] = []
        var note: String? = nil
        for (k, o) in outcomes.enumerated() {
            let r = o.result
            if !r.applicable { note = r.note; continue }
            let range = ranges[k], b = range.count
            if originals != nil {
                for s in o.scored {
                    let idx = range.lowerBound + s.original
                    rows.append(SampleJSON(image: paths[idx], trueLabel: s.trueLabel, recoveredLabel: s.recoveredLabel,
                                           mse: s.score.mse, psnr: s.score.psnr, ssim: s.score.ssim, success: s.score.success,
                                           iterations: r.iterations, finalLoss: r.finalLoss, seconds: r.seconds / Double(b),
                                           evidence: s.evidence, convergence: r.convergence))
                    recon.append((idx, RGBImage(tensor: o.reconstruction(s.reconstruction)), o.original(s.original).map { RGBImage(tensor: $0) }))
                }
            } else {
                for j in 0..<b {
                    recon.append((j, RGBImage(tensor: o.reconstruction(j)), nil))
                    rows.append(SampleJSON(image: "(unknown: captured update)", trueLabel: -1, recoveredLabel: r.labels[j],
                                           mse: .nan, psnr: .nan, ssim: .nan, success: false, iterations: r.iterations,
                                           finalLoss: r.finalLoss, seconds: r.seconds / Double(b)))
                }
            }
        }
        if let dir = out { try writeImages(recon, to: dir) }
        // The statistics every layer shares (CellStatistics: PSNR capped at 100 dB per image).
        let stats = CellStatistics.sum(outcomes.filter(\.result.applicable).map(\.statistics))
        let agg = Aggregate(attack: config.kind.rawValue, model: m.name, images: rows.count,
                            asr: stats.asr ?? .nan, meanSSIM: stats.meanSSIM ?? .nan, meanMSE: stats.meanMSE ?? .nan,
                            meanPSNR: stats.meanPSNR ?? .nan, labelAccuracy: stats.labelLeakage ?? .nan,
                            secondsPerImage: stats.secondsPerImage, wallSeconds: wall, statistics: stats)
        let report = rounds.isEmpty ? nil : DefenceReport(spec: spec, kind: kind, rounds: rounds)
        if json { try printJSON(Output(samples: rows, aggregate: agg, config: config, note: note, defence: report)) }
        else {
            if let nt = note { print(nt) }
            if let r = report { print("defence: \(r.label); \(r.updateKind); \(r.clientsPerUpdate) client(s) per update; mean SNR \(String(format: "%.3g", meanSNR(r)))") }
            for r in rows { print(String(format: "%@ label %d -> %@ SSIM %.4f MSE %.5f PSNR %.2f dB %@ %.2f s", r.image, r.trueLabel, r.recoveredLabel.map(String.init) ?? "-", r.ssim, r.mse, r.psnr, r.success ? "RECOVERED" : "not recovered", r.seconds)) }
            print(String(format: "%@ on %@: ASR %.3f, mean SSIM %.4f, mean MSE %.5f, label accuracy %.3f, %.2f s per image (wall %.1f s)", agg.attack, agg.model, agg.asr, agg.meanSSIM, agg.meanMSE, agg.labelAccuracy, agg.secondsPerImage, wall))
        }
    }

    func writeImages(_ recon: [(Int, RGBImage, RGBImage?)], to dir: String) throws {
        try input { try PrivateFile.makeDirectory(dir) }
        for (i, r, o) in recon {
            try input { try r.writePNG(to: "\(dir)/\(String(format: "%03d", i))-reconstruction.png") }
            if let o = o { try input { try o.writePNG(to: "\(dir)/\(String(format: "%03d", i))-original.png") } }
        }
    }

    /// Mean realised SNR over every client of every update (infinite when nothing changed).
    func meanSNR(_ r: DefenceReport) -> Double {
        let all = r.effects.flatMap { $0 }.map(\.snr)
        return all.isEmpty ? .infinity : all.reduce(0, +) / Double(all.count)
    }
}
