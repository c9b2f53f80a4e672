import Attacks
import Federated
import Evaluation
import Foundation
import NN
import Tensor

/// One batch of images whose update the attacks intercept.
public struct SampleBatch: Sendable, Codable, Equatable {
    public let index: Int
    /// Indices into the data pool.
    public let poolIndices: [Int]
    /// Image names as recorded (relative to the ImageFolder root, or as listed).
    public let names: [String]
    public let labels: [Int]
    /// SHA-256 of each image file.
    public let sha256: [String]
}

/// One cell of the audit grid: a sample attacked by one attack under one defence setting.
public struct TrialSpec: Sendable, Equatable {
    /// Position in the full (unsharded) grid.
    public let index: Int
    /// Stable key, unique within an audit: `s<sample>/<attack label>/<canonical defence>`.
    public let key: String
    public let sample: Int
    public let attack: AttackEntry
    public let defence: DefenceSpec

    /// The key of a grid cell.
    public static func key(sample: Int, attack: String, defence: DefenceSpec) -> String {
        "s\(String(format: "%03d", sample))/\(attack)/\(defence)"
    }
}

/// The configuration fingerprinted in the audit log: the definition without output locations, plus the
/// digests of the model and the selected images. Two runs with equal JSON attack the same thing.
public struct ResolvedConfig: Codable, Sendable, Equatable {
    public var definition: AuditDefinition
    /// SHA-256 of the weights file, or of the seeded initialisation's tensors.
    public var modelSHA256: String
    /// SHA-256 of the model file (file models only).
    public var modelFileSHA256: String?
    public var samples: [SampleBatch]
    /// SHA-256 over every pool image (only when secure aggregation draws other clients' images).
    public var poolSHA256: String?
    /// The audited model as built: its format and trainable tensors by the site's names (nil in logs before 0.3).
    public var model: ModelSummary? = nil
    /// Files left out of the data because they could not be read (`data.skip_unreadable: true`); nil when none.
    public var skippedUnreadable: Int? = nil
}

/// What the report says about the audited model: where it came from and the tensors its update holds.
public struct ModelSummary: Codable, Sendable, Equatable {
    public struct Tensor: Codable, Sendable, Equatable { public var name: String; public var shape: [Int] }
    /// "zoo", "model file", "ONNX opset 17, dynamic batch".
    public var format: String
    public var parameterCount: Int
    /// Trainable tensors in `named_parameters()` order.
    public var tensors: [Tensor]

    public init(_ m: Model) {
        format = m.format
        parameterCount = m.parameterCount
        tensors = m.parameters.map { Tensor(name: $0.name, shape: $0.shape) }
    }
}

/// Everything an audit needs before its first trial: the model and its weights, the selected images,
/// the trial grid and the configuration fingerprint. Building a plan validates all inputs.
/// `@unchecked Sendable`: safe because it is built once before the first trial and only read afterwards (its
/// properties are `let`s of values, the model and read-only tensors).
public struct AuditPlan: @unchecked Sendable {
    public let parsed: ParsedDefinition
    public var definition: AuditDefinition { parsed.definition }
    public let model: Model
    public let state: ModelState
    public let pool: DataPool
    public let samples: [SampleBatch]
    /// The full trial grid, samples x attacks x defences, in that nesting order.
    public let trials: [TrialSpec]
    public let config: ResolvedConfig
    /// `config` as canonical JSON (sorted keys) and its SHA-256.
    public let configJSON: String
    public let configSHA256: String
    /// The FL training that measures accuracy costs (nil without a `utility:` section), checked against
    /// every defence setting.
    public private(set) var utilityTraining: UtilityRunner.Setup?
    private let referenceCache = ReferenceCache()

    /// The re-identification pool (`ReferencePool`), loaded on first use and shared by every trial: the attacked
    /// images first, then others of the data drawn with the audit's seed, up to `reidentification.pool` (default:
    /// every image, at most 500).
    public func referencePool() throws -> ReferencePool {
        try referenceCache.get {
            let d = definition
            let n = d.reidentificationPool(available: pool.items.count)
            var ids: [Int] = []
            var seen = Set<Int>()
            for s in samples { for i in s.poolIndices where seen.insert(i).inserted { ids.append(i) } }
            ids = Array(ids.prefix(n))
            var rng = SeededGenerator(seed: d.seed).derived("reidentification-pool")
            ids += pool.draw(n - ids.count, excluding: Set(ids), rng: &rng)
            let x = try pool.load(ids, size: d.model.inputSize, channels: d.model.inputChannels, method: d.model.resizeMethod)
            return try ReferencePool(images: x, ids: ids, model: model, state: state)
        }
    }

    /// Loads the model, weights and images of `parsed` and lays out the grid.
    public static func prepare(_ parsed: ParsedDefinition) throws -> AuditPlan {
        let d = parsed.definition
        var model: Model
        var modelFileSHA: String? = nil
        do {
            if let f = d.model.file {
                model = try ModelFile.load(d.resolve(f))
                modelFileSHA = try SHA256Digest.hex(ofFile: d.resolve(f))
            } else {
                model = try ModelZoo.make(d.model.zoo!, classes: d.model.classes, size: d.model.inputSize, channels: d.model.inputChannels)
            }
            if let n = d.model.normalize { model = try model.normalizingInput(n) }
        } catch { throw parsed.error(d.model.file != nil ? "model.file" : "model.name", "\(error)") }
        // Work the model cannot do is refused before any tensor is made: images too small to score, batch norm
        // over one value per channel, a batch (times secure aggregation's clients) beyond this machine's memory.
        do { try Scoring.requireScorable(model.inputShape) } catch { throw parsed.error("model.input_size", "\(error)") }
        let clients = d.defences.compactMap(\.secureAggregationClients).max() ?? 1
        let secondOrder = d.attacks.contains { $0.config.kind.method.differentiatesGradient }
        do { try model.requireFits(batch: d.fl.batchSize * clients, bn: d.model.bn, secondOrder: secondOrder) } catch {
            throw parsed.error(d.fl.batchSize * clients > 1 ? "fl.batch_size" : "model", "\(error)")
        }
        let state: ModelState
        let modelSHA: String
        if let w = d.model.weights {
            do { state = try model.loadState(d.resolve(w), allowMissingBuffers: true, key: d.model.weightsKey) } catch { throw parsed.error("model.weights", "\(error)") }
            modelSHA = try SHA256Digest.hex(ofFile: d.resolve(w))
        } else {
            state = model.initialState(seed: d.model.initSeed)
            modelSHA = Self.fingerprint(model, state)
        }
        let pool: DataPool
        do { pool = try DataPool(d) } catch { throw parsed.error("data", "\(error)") }
        if let bad = pool.items.first(where: { $0.label >= model.classes }) {
            throw parsed.error("data", "image \(bad.name) has label \(bad.label), but the model has only \(model.classes) classes")
        }
        let classes = Set(pool.items.map(\.label))
        guard classes.count >= 2 else {
            throw parsed.error("data", "the images hold \(classes.count) class; an audit needs at least 2 (with one class the label is known "
                               + "without any attack, and no model can be trained to tell classes apart)")
        }
        let needed = d.data.samples * d.fl.batchSize
        guard needed <= pool.items.count else {
            throw parsed.error("data.samples", "\(d.data.samples) samples of \(d.fl.batchSize) images need \(needed) images, but the data holds \(pool.items.count)")
        }
        let picked = pool.selectEvenly(count: needed, seed: d.data.selectionSeed)
        guard picked.count == needed else {
            throw parsed.error("data.samples", "only \(picked.count) of the \(needed) images could be drawn evenly over the classes")
        }
        var samples: [SampleBatch] = []
        for s in 0..<d.data.samples {
            let idx = Array(picked[(s * d.fl.batchSize)..<((s + 1) * d.fl.batchSize)])
            let digests = try idx.map { i -> String in
                do { return try pool.digest(i) } catch { throw parsed.error("data", "\(error)") }
            }
            samples.append(SampleBatch(index: s, poolIndices: idx, names: idx.map { pool.items[$0].name },
                                       labels: idx.map { pool.items[$0].label }, sha256: digests))
        }
        // Check every selected image decodes before any work starts.
        for s in samples { do { _ = try pool.load(s.poolIndices, size: d.model.inputSize, channels: d.model.inputChannels, method: d.model.resizeMethod) } catch { throw parsed.error("data", "\(error)") } }
        var trials: [TrialSpec] = []
        for s in samples {
            for a in d.attacks {
                for def in d.defences {
                    trials.append(TrialSpec(index: trials.count, key: TrialSpec.key(sample: s.index, attack: a.label, defence: def),
                                            sample: s.index, attack: a, defence: def))
                }
            }
        }
        var hashed = d
        hashed.output = OutputSection()
        hashed.baseDirectory = ""
        // A labels CSV's classes, as the audit numbered them (the report names classes from the log alone).
        if d.data.labels != nil && d.data.classes == nil { hashed.data.classes = pool.classes }
        var poolSHA: String? = nil
        if d.defences.contains(where: { $0.secureAggregationClients != nil }) {
            var digest = SHA256Digest()
            for (i, it) in pool.items.enumerated() { digest.update(Array("\(it.name)\t\(it.label)\t\((try? pool.digest(i)) ?? "")\n".utf8)) }
            poolSHA = digest.hexDigest()
        }
        var config = ResolvedConfig(definition: hashed, modelSHA256: modelSHA, modelFileSHA256: modelFileSHA,
                                    samples: samples, poolSHA256: poolSHA)
        config.model = ModelSummary(model)
        if !pool.skipped.isEmpty { config.skippedUnreadable = pool.skipped.count }
        let json = try AuditJSON.encode(config)
        var plan = AuditPlan(parsed: parsed, model: model, state: state, pool: pool, samples: samples, trials: trials,
                         config: config, configJSON: json, configSHA256: SHA256Digest.hex(of: json))
        plan.utilityTraining = try UtilityRunner.setup(plan)
        return plan
    }

    /// What a client sends: a FedSGD gradient or a FedAvg weight difference.
    public var updateKind: UpdateKind {
        definition.fl.algorithm == .fedsgd ? .gradient : .fedAvg(steps: definition.fl.localSteps ?? 1, lr: definition.fl.learningRate ?? 0.1)
    }

    /// The trials of shard `k` of `n` (1-based): every n-th trial of the grid starting at k - 1, so that
    /// shards are disjoint, cover the grid, and each gets a similar mix of attacks.
    public func shard(_ k: Int, of n: Int) -> [TrialSpec] {
        precondition(n >= 1 && k >= 1 && k <= n, "shard \(k)/\(n)")
        return trials.filter { $0.index % n == k - 1 }
    }

    /// SHA-256 over a state dict (names, shapes and little-endian Float32 values in state-dict order).
    public static func fingerprint(_ model: Model, _ state: ModelState) -> String {
        var digest = SHA256Digest()
        for (name, t) in model.stateDict(state) {
            digest.update(Array("\(name)\(t.shape)".utf8))
            t.withUnsafeBufferPointer { p in digest.update(UnsafeRawBufferPointer(p)) }
        }
        return digest.hexDigest()
    }
}

/// JSON as the audit log stores it: sorted keys, non-finite numbers as strings.
public enum AuditJSON {
    public static func encoder() -> JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        e.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        return e
    }

    public static func decoder() -> JSONDecoder {
        let d = JSONDecoder()
        d.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        return d
    }

    public static func encode<T: Encodable>(_ v: T) throws -> String {
        String(decoding: try encoder().encode(v), as: UTF8.self)
    }

    public static func decode<T: Decodable>(_ type: T.Type, _ text: String) throws -> T {
        try decoder().decode(type, from: Data(text.utf8))
    }
}

/// Builds a value once, on first use, for every thread (the plan's reference pool).
final class ReferenceCache: @unchecked Sendable {
    private let lock = NSLock()
    private var value: ReferencePool?

    func get(_ make: () throws -> ReferencePool) throws -> ReferencePool {
        lock.lock(); defer { lock.unlock() }
        if let v = value { return v }
        let v = try make()
        value = v
        return v
    }
}
