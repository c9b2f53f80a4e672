import Attacks
import Federated
import Foundation
import Imaging
import NN
import Yams

/// A parsed definition together with the line of every key path, so that later checks (which need the
/// model or the images) can still point at the right line.
public struct ParsedDefinition: Sendable {
    public let definition: AuditDefinition
    /// The definition file.
    public let file: String
    let lines: [String: Int]

    /// A `DefinitionError` at `keyPath` (the line of the nearest enclosing key that has one).
    public func error(_ keyPath: String, _ message: String) -> DefinitionError {
        var p = keyPath
        while !p.isEmpty, lines[p] == nil {
            if let cut = p.lastIndex(where: { $0 == "." || $0 == "[" }) { p = String(p[..<cut]) } else { p = "" }
        }
        return DefinitionError(file: file, line: lines[p], keyPath: keyPath, message: message)
    }
}

/// Reads an audit YAML file into an `AuditDefinition`, checking every key, type, range and referenced
/// file before any work starts. Errors are `DefinitionError`s (file, line, key path, one-line message).
public enum AuditDefinitionParser {
    static let topKeys = ["site", "seed", "model", "data", "fl", "attacks", "defences", "declared_defence",
                          "thresholds", "utility", "output", "threat_models", "reidentification"]

    /// Parses every audit of the file at `path` (one per YAML document; documents are separated by `---`).
    public static func loadAll(_ path: String) throws -> [ParsedDefinition] {
        let base = URL(fileURLWithPath: path).deletingLastPathComponent().standardizedFileURL.path
        return try YAMLNode.loadAll(file: path).map { root in
            var reader = Reader(base: base)
            let def = try reader.definition(root)
            return ParsedDefinition(definition: def, file: path, lines: reader.lines)
        }
    }

    /// Parses a file that holds exactly one audit.
    public static func load(_ path: String) throws -> ParsedDefinition {
        let all = try loadAll(path)
        guard all.count == 1 else {
            throw DefinitionError(file: path, line: nil, keyPath: "", message: "holds \(all.count) audits (YAML documents); expected one")
        }
        return all[0]
    }

    struct Reader {
        let base: String
        var lines: [String: Int] = [:]

        mutating func note(_ n: YAMLNode) -> YAMLNode {
            if let l = n.line { lines[n.path] = l }
            return n
        }

        func resolve(_ p: String) -> String {
            p.hasPrefix("/") ? p : URL(fileURLWithPath: base, isDirectory: true).appendingPathComponent(p).standardizedFileURL.path
        }

        /// A path value that must name an existing file (or folder when `folder`).
        func existing(_ n: YAMLNode, folder: Bool = false) throws -> String {
            let p = try n.string()
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: resolve(p), isDirectory: &isDir) else {
                throw n.fail("\(folder ? "folder" : "file") \(resolve(p)) does not exist")
            }
            if isDir.boolValue != folder { throw n.fail("\(resolve(p)) is \(folder ? "not a folder" : "a folder, not a file")") }
            return p
        }

        mutating func definition(_ root: YAMLNode) throws -> AuditDefinition {
            let m = try root.mapping(allowed: AuditDefinitionParser.topKeys)
            for (_, v) in m.entries { _ = note(v) }
            let site = try m.required("site").string()
            guard !site.trimmingCharacters(in: .whitespaces).isEmpty else { throw try m.required("site").fail("the site name is empty") }
            // A site name is printed on terminals and in reports: one line of text, no control characters.
            if let c = site.unicodeScalars.first(where: { $0.properties.generalCategory == .control || $0.properties.generalCategory == .format && $0.value != 0x200D }) {
                throw try m.required("site").fail("the site name holds the control character U+\(String(c.value, radix: 16, uppercase: true)); give one line of plain text")
            }
            let seed = try m.optional("seed")?.uint64() ?? 1234
            let data = try dataSection(try m.required("data"), seed: seed)
            var model = try modelSection(try m.required("model"), seed: seed)
            if model.classes == 0 { model.classes = max(2, try dataClasses(data, try m.required("data"))) }
            let fl = try flSection(m.optional("fl"))
            let attacks = try attackList(try m.required("attacks"))
            let defNode = try m.required("defences")
            var defences = try DefenceList.parse(defNode).map(\.0)
            var declared = DefenceSpec.none
            if let d = m.optional("declared_defence") {
                do { declared = try DefenceSpec(parsing: try d.string()) } catch let e as DefenceSpecError { throw d.fail(e.message) }
            }
            if !defences.contains(declared) { defences.append(declared) }
            let thresholds = try thresholdSection(m.optional("thresholds"))
            let utility = try m.optional("utility").map { try utilitySection($0, fl: fl) }
            let output = try outputSection(m.optional("output"))
            let threats = try threatModels(m.optional("threat_models"))
            let reid = try reidentificationSection(m.optional("reidentification"))
            // Every attack must belong to a threat model in scope (an audit of the eavesdropper alone that runs
            // the malicious server's imprint attack says one thing and does another).
            let scope = threats ?? ThreatModel.allCases
            for (i, a) in attacks.enumerated() where !scope.contains(a.config.kind.method.threatModel) {
                let tm = a.config.kind.method.threatModel
                throw try m.required("attacks").sequence()[i].fail("attack \(a.label) assumes a \(tm.scopeName) threat model, which threat_models "
                    + "leaves out (\(scope.map(\.scopeName).joined(separator: ", "))): add \(tm.scopeName) to threat_models or drop the attack")
            }
            let def = AuditDefinition(site: site, seed: seed, model: model, data: data, fl: fl, attacks: attacks,
                                      defences: defences, declaredDefence: declared, thresholds: thresholds,
                                      utility: utility, output: output, baseDirectory: base, threatModels: threats,
                                      reidentification: reid)
            try crossChecks(def, defences: defNode, data: try m.required("data"))
            return def
        }

        mutating func modelSection(_ n: YAMLNode, seed: UInt64) throws -> ModelSection {
            let m = try n.mapping(allowed: ["name", "file", "classes", "input_size", "input", "resize", "weights", "weights_key", "normalize", "version", "bn", "init_seed"])
            for (_, v) in m.entries { _ = note(v) }
            let zoo = try m.optional("name").map { try $0.choice(ModelZoo.names) }
            let file = try m.optional("file").map { try existing($0) }
            if zoo == nil && file == nil { throw n.fail("give the model as name: (\(ModelZoo.names.joined(separator: "|"))) or file: (a model YAML)") }
            if zoo != nil && file != nil { throw n.fail("give either name: or file:, not both") }
            var classes = try m.optional("classes")?.int(min: 2) ?? 0
            var size = try m.optional("input_size")?.int(min: 4) ?? 32
            var channels = 3
            if let inNode = m.optional("input") {
                // {channels, height, width}: 1 (gray) or 3 (RGB) channels; audits resize images to squares.
                let im = try inNode.mapping(allowed: ["channels", "height", "width"])
                let c = try im.required("channels").int(min: 1), h = try im.required("height").int(min: 4), w = try im.required("width").int(min: 4)
                guard c == 1 || c == 3 else { throw inNode.fail("channels must be 1 (gray) or 3 (RGB), got \(c)") }
                guard h == w else { throw inNode.fail("audits resize images to squares: give height = width (got \(h)x\(w))") }
                guard h <= ModelZoo.maximumSize else { throw inNode.fail("height \(h) is more than the \(ModelZoo.maximumSize) pixels medpfl handles") }
                if let s = m.optional("input_size"), size != h { throw s.fail("input_size \(size) and input height \(h) differ") }
                size = h; channels = c
            }
            if let f = file, let fn = m.optional("file") {
                // A model file fixes its own classes and input size; given keys must agree with it.
                let built: Model
                do { built = try ModelFile.load(resolve(f)) } catch { throw fn.fail("\(error)") }
                if let c = m.optional("classes"), classes != built.classes { throw c.fail("the model file has \(built.classes) classes, not \(classes)") }
                if let s = m.optional("input_size") ?? m.optional("input"), size != built.inputShape[1] {
                    throw s.fail("the model file takes \(built.inputShape[1])x\(built.inputShape[2]) inputs, not \(size)")
                }
                if let i = m.optional("input"), channels != built.inputShape[0] { throw i.fail("the model file takes \(built.inputShape[0])-channel input, not \(channels)") }
                guard built.inputShape[0] == 3 || built.inputShape[0] == 1, built.inputShape[1] == built.inputShape[2] else {
                    throw fn.fail("the model takes \(built.inputShape) inputs; audits need square gray (1 channel) or RGB (3 channels) images")
                }
                classes = built.classes
                size = built.inputShape[1]
                channels = built.inputShape[0]
            }
            var section = ModelSection(zoo: zoo, file: file,
                                classes: classes,
                                inputSize: size,
                                weights: try m.optional("weights").map { try existing($0) },
                                version: try m.optional("version")?.string() ?? "unversioned",
                                bn: BNMode(rawValue: try m.optional("bn")?.choice(BNMode.allCases.map(\.rawValue)) ?? "train")!,
                                initSeed: try m.optional("init_seed")?.uint64() ?? seed)
            section.weightsKey = try m.optional("weights_key")?.string()
            if channels != 3 { section.channels = channels }
            if let r = m.optional("resize") { section.resize = ResizeMethod(rawValue: try r.choice(ResizeMethod.allCases.map(\.rawValue)))! }
            if let n = m.optional("normalize") {
                // imagenet, or {mean: [...], std: [...]} with one value per input channel.
                if case .scalar = n.node {
                    guard try n.choice(["imagenet"]) == "imagenet" else { throw n.fail("normalize takes imagenet or {mean: [...], std: [...]}") }
                    section.normalize = .imagenet
                } else {
                    let nm = try n.mapping(allowed: ["mean", "std"])
                    let mean = try nm.required("mean").sequence().map { Float(try $0.double()) }
                    let std = try nm.required("std").sequence().map { Float(try $0.double()) }
                    do { section.normalize = try InputNormalization(mean: mean, std: std) } catch { throw n.fail("\(error)") }
                }
                if let c = section.normalize?.mean.count, c != channels { throw n.fail("normalize gives \(c) channels; the model takes \(channels)") }
            }
            if section.weightsKey != nil && section.weights == nil { throw try m.required("weights_key").fail("weights_key names the state dict inside the weights file: give weights: too") }
            return section
        }

        mutating func dataSection(_ n: YAMLNode, seed: UInt64) throws -> DataSection {
            let m = try n.mapping(allowed: ["folder", "images", "samples", "selection_seed", "labels", "label_column",
                                            "classes", "window", "frames", "slice", "slice_axis", "skip_unreadable"])
            for (_, v) in m.entries { _ = note(v) }
            let folder = try m.optional("folder").map { try existing($0, folder: true) }
            var images: [DataSection.LabelledImage]? = nil
            if let list = m.optional("images") {
                images = try list.sequence().map { item in
                    let im = try item.mapping(allowed: ["path", "label"])
                    _ = note(item)
                    return DataSection.LabelledImage(path: try existing(try im.required("path")), label: try im.required("label").int(min: 0))
                }
                if images!.isEmpty { throw list.fail("the image list is empty") }
            }
            if folder == nil && images == nil { throw n.fail("give the images as folder: (an ImageFolder, or files with labels:) or images: (a list of {path, label})") }
            if folder != nil && images != nil { throw n.fail("give either folder: or images:, not both") }
            let labels = try m.optional("labels").map { try existing($0) }
            if labels != nil && folder == nil { throw try m.required("labels").fail("labels: names the CSV of a folder: of files; give folder: too") }
            let labelColumn = try m.optional("label_column")?.string()
            if labelColumn != nil && labels == nil { throw try m.required("label_column").fail("label_column applies to a labels: CSV") }
            var classes: [String]? = nil
            if let c = m.optional("classes") {
                guard labels != nil else { throw c.fail("classes: applies to a labels: CSV (an ImageFolder's classes are its sub-folders)") }
                classes = try c.sequence().map { try $0.string() }
                if classes!.isEmpty { throw c.fail("the class list is empty") }
                if Set(classes!).count != classes!.count { throw c.fail("a class is listed twice") }
            }
            var window: String? = nil
            if let w = m.optional("window") {
                if let wm = try? w.mapping(allowed: ["center", "width"]) {
                    let c = try wm.required("center").double()
                    let width = try wm.required("width").double(where: { $0 >= 1 }, ">= 1")
                    window = WindowChoice.explicit(center: c, width: width).description
                } else {
                    let t = try w.string()
                    guard t == "dicom" || t == "auto" else {
                        throw w.fail("window is dicom (the file's own VOI), auto (percentiles) or {center, width}, got '\(t)'")
                    }
                    window = t
                }
            }
            var frames: String? = nil
            if m.optional("frames") != nil && m.optional("slice") != nil {
                throw try m.required("slice").fail("give frames: or slice: (the same setting: slice is its name for volumes), not both")
            }
            if let f = m.optional("frames") ?? m.optional("slice") {
                let t = try f.string()
                guard let choice = FrameChoice(t) else { throw f.fail("frames is middle, all or a 0-based frame index, got '\(t)'") }
                frames = choice.description
            }
            var axis: String? = nil
            if let a = m.optional("slice_axis") { axis = try a.choice(SliceAxis.allCases.map(\.rawValue)) }
            var skip: Bool? = nil
            if let k = m.optional("skip_unreadable") { skip = try k.choice(["true", "false"]) == "true" }
            var section = DataSection(folder: folder, images: images, samples: try m.required("samples").int(min: 1),
                               selectionSeed: try m.optional("selection_seed")?.uint64() ?? seed, labels: labels,
                               labelColumn: labelColumn, classes: classes, window: window, frames: frames, skipUnreadable: skip)
            section.sliceAxis = axis
            return section
        }

        mutating func flSection(_ n: YAMLNode?) throws -> FLSection {
            guard let n else { return FLSection(algorithm: .fedsgd, batchSize: 1, localSteps: nil, learningRate: nil) }
            let m = try n.mapping(allowed: ["algorithm", "batch_size", "local_steps", "lr", "rounds", "sample_rate"])
            for (_, v) in m.entries { _ = note(v) }
            let alg = FLAlgorithm(rawValue: try m.optional("algorithm")?.choice(FLAlgorithm.allCases.map(\.rawValue)) ?? "fedsgd")!
            let batch = try m.optional("batch_size")?.int() ?? 1
            if batch < 1 { throw try m.required("batch_size").fail("must be at least 1, got \(batch)") }
            let steps = try m.optional("local_steps")?.int(min: 1)
            let lr = try m.optional("lr")?.double(where: { $0 > 0 }, "> 0")
            if alg == .fedavg {
                if steps == nil { throw n.fail("fedavg needs local_steps (local SGD steps per round)") }
                if lr == nil { throw n.fail("fedavg needs lr (the local learning rate)") }
            } else {
                if let s = m.optional("local_steps") { throw s.fail("local_steps applies to fedavg only (fedsgd sends one gradient)") }
                if let s = m.optional("lr") { throw s.fail("lr applies to fedavg only (fedsgd sends the gradient itself)") }
            }
            var fl = FLSection(algorithm: alg, batchSize: batch, localSteps: steps, learningRate: lr)
            fl.rounds = try m.optional("rounds")?.int(min: 1, max: 100_000_000)
            fl.sampleRate = try m.optional("sample_rate")?.double(where: { $0 > 0 && $0 <= 1 }, "in (0, 1]")
            return fl
        }

        mutating func attackList(_ n: YAMLNode) throws -> [AttackEntry] {
            var out: [AttackEntry] = []
            for item in try n.sequence() {
                _ = note(item)
                let entry = try attack(item)
                if let dup = out.first(where: { $0.label == entry.label }) {
                    throw item.fail("attack '\(dup.label)' is listed twice; give the second one its own label:")
                }
                out.append(entry)
            }
            guard !out.isEmpty else { throw n.fail("list at least one attack (\(AttackKind.allCases.map(\.rawValue).joined(separator: ", ")))") }
            return out
        }

        mutating func attack(_ item: YAMLNode) throws -> AttackEntry {
            let kinds = AttackRegistry.keys
            if case .scalar = item.node {
                let k = AttackKind(rawValue: try item.choice(kinds))!
                return AttackEntry(label: k.rawValue, config: .defaults(for: k))
            }
            guard case let .mapping(map) = item.node, map.count == 1, let key = map.first?.key.string, let value = map.first?.value else {
                throw item.fail("expected an attack name or {name: {overrides}} with one of \(kinds.joined(separator: ", "))")
            }
            guard let kind = AttackKind(rawValue: key) else {
                throw DefinitionError(file: item.file, line: item.line, keyPath: item.path, message: "unknown attack '\(key)'; known: \(kinds.joined(separator: ", "))")
            }
            let method = kind.method
            var config = method.defaults
            let o = item.child(value, key: key)
            if o.isNull { return AttackEntry(label: key, config: config) }
            // The keys each attack takes come from its registry entry (AttackMethod.parameters).
            if method.parameters.isEmpty, case let .mapping(given) = o.node,
               let (k, v) = given.first(where: { $0.key.string != "label" }) {
                throw o.child(v, key: k.string ?? "?").fail("the \(key) attack takes no settings (no iterations or other overrides)")
            }
            let m = try o.mapping(allowed: method.parameters.map(\.key) + ["label"])
            for (_, v) in m.entries { _ = note(v) }
            for p in method.parameters {
                guard let v = m.optional(p.key) else { continue }
                let value: AttackParameter.Value
                switch p.type {
                case let .integer(lo, hi): value = .integer(try v.int(min: lo, max: hi))
                case .number: value = .number(try v.double())
                case .choice(let words): value = .word(try v.choice(words))
                }
                do { try p.set(value, in: &config) } catch let e as AttackParameterError { throw v.fail(e.description) }
            }
            let label = try m.optional("label")?.string() ?? key
            guard label.allSatisfy({ $0.isLetter || $0.isNumber || "-_.".contains($0) }) else {
                throw try m.required("label").fail("use letters, digits, '-', '_' or '.' only (it becomes part of trial keys)")
            }
            return AttackEntry(label: label, config: config)
        }

        /// `threat_models: [eavesdropper, malicious-server]` (`honest-but-curious` names the first too); nil when absent.
        mutating func threatModels(_ n: YAMLNode?) throws -> [ThreatModel]? {
            guard let n else { return nil }
            var out: [ThreatModel] = []
            for item in try n.sequence() {
                _ = note(item)
                let word = try item.choice(ThreatModel.allCases.map(\.scopeName) + [ThreatModel.honestButCurious.rawValue])
                let t = ThreatModel.allCases.first { $0.scopeName == word || $0.rawValue == word }!
                if out.contains(t) { throw item.fail("threat model \(t.scopeName) is listed twice") }
                out.append(t)
            }
            guard !out.isEmpty else { throw n.fail("list at least one threat model (\(ThreatModel.allCases.map(\.scopeName).joined(separator: ", ")))") }
            return out
        }

        /// `reidentification: {pool: N}`: how many of the data's images a reconstruction is ranked among; nil when absent.
        mutating func reidentificationSection(_ n: YAMLNode?) throws -> ReidentificationSection? {
            guard let n else { return nil }
            let m = try n.mapping(allowed: ["pool"])
            for (_, v) in m.entries { _ = note(v) }
            guard let p = m.optional("pool") else { throw n.fail("reidentification needs pool: the number of images to rank each reconstruction among") }
            return ReidentificationSection(pool: try p.int(min: 2, max: 100_000))
        }

        mutating func thresholdSection(_ n: YAMLNode?) throws -> RiskThresholds {
            var t = RiskThresholds()
            guard let n else { return t }
            let m = try n.mapping(allowed: ["success_ssim", "high_ssim", "medium_ssim", "label_leakage", "reidentification"])
            for (_, v) in m.entries { _ = note(v) }
            let unit: (Double) -> Bool = { $0 >= 0 && $0 <= 1 }
            if let v = m.optional("success_ssim") { t.successSSIM = try v.double(where: unit, "between 0 and 1") }
            if let v = m.optional("high_ssim") { t.highSSIM = try v.double(where: unit, "between 0 and 1") }
            if let v = m.optional("medium_ssim") { t.mediumSSIM = try v.double(where: unit, "between 0 and 1") }
            if let v = m.optional("label_leakage") { t.labelLeakage = try v.double(where: { $0 >= 0 && $0 < 1 }, "at least 0 and below 1") }
            if let v = m.optional("reidentification") { t.reidentification = try v.double(where: { $0 > 0 && $0 <= 1 }, "above 0 and at most 1") }
            if t.mediumSSIM > t.highSSIM { throw n.fail("medium_ssim (\(t.mediumSSIM)) must not exceed high_ssim (\(t.highSSIM))") }
            return t
        }

        mutating func utilitySection(_ n: YAMLNode, fl: FLSection) throws -> UtilitySection {
            let m = try n.mapping(allowed: ["max_accuracy_drop", "rounds", "clients", "algorithm", "local_steps", "lr",
                                            "batch_size", "test_fraction", "partition", "seeds"])
            for (_, v) in m.entries { _ = note(v) }
            let alg = try m.optional("algorithm").map { FLAlgorithm(rawValue: try $0.choice(FLAlgorithm.allCases.map(\.rawValue)))! } ?? fl.algorithm
            let partition = try m.optional("partition")?.string() ?? "iid"
            do { _ = try Partition(parsing: partition) } catch { throw try m.required("partition").fail("\(error)") }
            return UtilitySection(
                maxAccuracyDrop: try m.required("max_accuracy_drop").double(where: { $0 >= 0 && $0 <= 1 }, "between 0 and 1"),
                rounds: try m.optional("rounds")?.int(min: 1) ?? 10, clients: try m.optional("clients")?.int(min: 1) ?? 4,
                algorithm: alg, localSteps: try m.optional("local_steps")?.int(min: 1) ?? (fl.localSteps ?? 1),
                learningRate: try m.optional("lr")?.double(where: { $0 > 0 }, "> 0") ?? (fl.learningRate ?? 0.1),
                batchSize: try m.optional("batch_size")?.int(min: 1) ?? 8,
                testFraction: try m.optional("test_fraction")?.double(where: { $0 > 0 && $0 < 1 }, "between 0 and 1 (exclusive)") ?? 0.25,
                partition: partition, seeds: try m.optional("seeds")?.int(min: 1, max: 100))
        }

        mutating func outputSection(_ n: YAMLNode?) throws -> OutputSection {
            guard let n else { return OutputSection() }
            let m = try n.mapping(allowed: ["database", "report_dir"])
            for (_, v) in m.entries { _ = note(v) }
            return OutputSection(database: try m.optional("database")?.string(), reportDirectory: try m.optional("report_dir")?.string())
        }

        /// Number of classes in the data: the folder's class sub-folders, or the largest label + 1.
        func dataClasses(_ d: DataSection, _ n: YAMLNode) throws -> Int {
            if let images = d.images { return (images.map(\.label).max() ?? 0) + 1 }
            do { return try DataPool.classNames(d, resolve: resolve).count } catch { throw n.fail("\(error)") }
        }

        /// Checks that need several sections: enough images for the samples (and for secure aggregation).
        func crossChecks(_ d: AuditDefinition, defences: YAMLNode, data: YAMLNode) throws {
            let available: Int
            if let images = d.data.images { available = images.count } else {
                do { available = try DataPool.countImages(d.data, resolve: resolve) } catch { throw data.fail("\(error)") }
            }
            let (needed, overflow) = d.data.samples.multipliedReportingOverflow(by: d.fl.batchSize)
            if overflow || needed > available {
                throw data.fail("\(d.data.samples) samples of batch size \(d.fl.batchSize) need \(needed) images, but only \(available) are available")
            }
            if let k = d.defences.compactMap(\.secureAggregationClients).max(), k.multipliedReportingOverflow(by: d.fl.batchSize).overflow || k * d.fl.batchSize > available {
                throw defences.fail("secure aggregation over \(k) clients of batch size \(d.fl.batchSize) needs \(k * d.fl.batchSize) images, only \(available) are available")
            }
        }
    }
}

extension DefinitionError {
    /// Used by `ParsedDefinition` consumers for errors that are not about one key.
    static func file(_ file: String, _ message: String) -> DefinitionError {
        DefinitionError(file: file, line: nil, keyPath: "", message: message)
    }
}
