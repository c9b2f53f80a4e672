import Foundation
import SafeIO
import ZIPFoundation

/// PyTorch checkpoints as `torch.save` writes them: the zip container (PyTorch 1.6 and later:
/// `<archive>/data.pkl`, `<archive>/data/<key>`, `<archive>/byteorder`) and the legacy pre-1.6 stream, read
/// with a restricted unpickler that accepts what `torch.load(weights_only=True)` accepts: dicts and
/// OrderedDicts, lists, tuples, numbers, strings, and tensors rebuilt from storages (F32, F64, F16, BF16, I64,
/// I32, with strides and offsets). Any other global in the pickle is refused by name and never executed.
///
/// A training checkpoint's state dict is found under `state_dict`, `model_state_dict` or `model` (or the
/// key given); DataParallel's `module.` prefix is stripped.
public enum TorchCheckpoint {
    /// The state dict of the checkpoint at `path`, as stored tensors (floats converted to Float32).
    public static func stateDict(_ path: String, key: String? = nil) throws -> [String: StoredTensor] {
        let data: Data
        do { data = try BoundedFile.read(path, limit: BoundedFile.Limit.tensors, what: "checkpoint") } catch let e as FileError {
            throw TorchCheckpointError(path, e.problem)
        }
        let sd = try read(data, name: path, key: key)
        for (k, t) in sd where t.dtype != .I64 && t.dtype != .I32 {
            if let bad = t.floats.firstIndex(where: { !$0.isFinite }) {
                throw TorchCheckpointError(path, "tensor '\(k)' holds \(t.floats[bad].isNaN ? "NaN" : "an infinite value") (at flat index \(bad)); weights must be finite numbers")
            }
        }
        return sd
    }

    /// True when `data` starts like a torch.save file (a zip archive, or the legacy pickle stream).
    public static func looksLikeCheckpoint(_ head: Data) -> Bool {
        head.starts(with: [0x50, 0x4B, 0x03, 0x04]) || head.starts(with: [0x80, 0x02]) || head.starts(with: [0x80, 0x04]) || head.starts(with: [0x80, 0x05])
    }

    /// The state dict of a checkpoint held in memory.
    static func read(_ data: Data, name: String, key: String? = nil) throws -> [String: StoredTensor] {
        do {
            if data.starts(with: [0x50, 0x4B, 0x03, 0x04]) { return try readZip(data, name: name, key: key) }
            if data.starts(with: [0x80]) { return try readLegacy(data, name: name, key: key) }
        } catch let f as Pickle.Failure {
            throw TorchCheckpointError(name, f.message)
        }
        throw TorchCheckpointError(name, "not a PyTorch checkpoint (neither torch.save's zip format nor its legacy format)")
    }

    static func readZip(_ data: Data, name: String, key: String?) throws -> [String: StoredTensor] {
        let archive: Archive
        do { archive = try Archive(data: data, accessMode: .read) } catch {
            throw TorchCheckpointError(name, "a damaged or truncated zip archive")
        }
        var entries: [String: Entry] = [:]
        for e in archive { entries[e.path] = e }
        guard let pkl = entries.keys.filter({ $0.hasSuffix("/data.pkl") || $0 == "data.pkl" }).sorted().first else {
            throw TorchCheckpointError(name, "a zip archive without data.pkl: not written by torch.save")
        }
        let prefix = String(pkl.dropLast("data.pkl".count))
        func extract(_ path: String) throws -> [UInt8] {
            guard let e = entries[path] else { throw TorchCheckpointError(name, "the archive lacks \(path)") }
            guard e.uncompressedSize <= UInt64(BoundedFile.Limit.tensors) else { throw TorchCheckpointError(name, "\(path) is larger than this machine's memory") }
            var out = Data()
            do { _ = try archive.extract(e, skipCRC32: false) { out.append($0) } } catch {
                throw TorchCheckpointError(name, "\(path) cannot be read from the archive (damaged or truncated)")
            }
            return [UInt8](out)
        }
        if entries[prefix + "byteorder"] != nil {
            let order = String(decoding: try extract(prefix + "byteorder"), as: UTF8.self)
            guard order == "little" else { throw TorchCheckpointError(name, "byte order '\(order.prefix(16))': only little-endian checkpoints are read") }
        }
        var seen: [String: Pickle.Storage] = [:]
        let (root, _) = try Pickle.parse(try extract(pkl), from: 0, seen: &seen)
        let refs = try findStateDict(root, key: key, name: name)
        var storages: [String: [UInt8]] = [:]
        return try refs.mapValues { r in
            if storages[r.storage.key] == nil { storages[r.storage.key] = try extract(prefix + "data/" + r.storage.key) }
            return try Pickle.materialize(r, bytes: storages[r.storage.key]!)
        }
    }

    /// The pre-1.6 format: magic number, protocol, system info, the object, the list of storage keys, then
    /// each storage as a little-endian int64 element count and its bytes, in that list's order.
    static func readLegacy(_ data: Data, name: String, key: String?) throws -> [String: StoredTensor] {
        let b = [UInt8](data)
        var at = 0
        var seen: [String: Pickle.Storage] = [:]
        func next() throws -> Pickle.Value {
            let (v, end) = try Pickle.parse(b, from: at, seen: &seen)
            at = end
            return v
        }
        // 0x1950a86a20f9469cfc6c, pickled as LONG1 (little-endian two's complement).
        guard case .bigInt(let magic) = try next(), magic == [0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19] else {
            throw TorchCheckpointError(name, "a pickle, but not one torch.save wrote (no magic number): refused")
        }
        _ = try next()   // protocol version
        _ = try next()   // system info
        let root = try next()
        guard case .list(let keys) = try next() else { throw TorchCheckpointError(name, "legacy format: the list of storage keys is missing") }
        var storages: [String: [UInt8]] = [:]
        for k in keys.items {
            guard let key = k.string, let s = seen[key] else { throw TorchCheckpointError(name, "legacy format: a storage key names no storage") }
            guard at + 8 <= b.count else { throw TorchCheckpointError(name, "legacy format: truncated before storage \(key)") }
            var n: UInt64 = 0
            for i in 0..<8 { n |= UInt64(b[at + i]) << (8 * UInt64(i)) }
            at += 8
            let (bytes, o) = Int(clamping: n).multipliedReportingOverflow(by: s.elementSize)
            guard !o, n <= UInt64(b.count), at + bytes <= b.count else { throw TorchCheckpointError(name, "legacy format: storage \(key) is truncated") }
            storages[key] = Array(b[at..<(at + bytes)])
            at += bytes
        }
        return try findStateDict(root, key: key, name: name).mapValues { r in
            guard let bytes = storages[r.storage.key] else { throw TorchCheckpointError(name, "legacy format: storage \(r.storage.key) is missing") }
            return try Pickle.materialize(r, bytes: bytes)
        }
    }

    /// The state dict inside a checkpoint object, as tensor references.
    static func findStateDict(_ root: Pickle.Value, key: String?, name: String) throws -> [String: Pickle.TensorRef] {
        guard case .dict(let top) = root else { throw TorchCheckpointError(name, "the checkpoint holds a \(root.kind), not a state dict") }
        func tensors(_ d: Pickle.Box<(Pickle.Value, Pickle.Value)>) -> [String: Pickle.TensorRef]? {
            var out: [String: Pickle.TensorRef] = [:]
            for (k, v) in d.items {
                guard let s = k.string, case .tensor(let t) = v else { return nil }
                out[s] = t
            }
            return out.isEmpty ? nil : out
        }
        func entry(_ k: String) -> Pickle.Value? { top.items.first { $0.0.string == k }?.1 }
        var found: [String: Pickle.TensorRef]? = nil
        if let k = key {
            guard case .dict(let d)? = entry(k), let t = tensors(d) else {
                throw TorchCheckpointError(name, "no state dict under '\(k)' (the checkpoint's keys: \(keys(top.items)))")
            }
            found = t
        } else if let t = tensors(top) {
            found = t
        } else {
            for k in ["state_dict", "model_state_dict", "model"] {
                if case .dict(let d)? = entry(k), let t = tensors(d) { found = t; break }
            }
        }
        guard var sd = found else {
            throw TorchCheckpointError(name, "no state dict found (a dict of tensors at the top, or under state_dict, model_state_dict or "
                                       + "model; the checkpoint's keys: \(keys(top.items))); name its key with weights_key")
        }
        // DataParallel / DistributedDataParallel save every key under "module.".
        if sd.keys.allSatisfy({ $0.hasPrefix("module.") }) {
            sd = Dictionary(uniqueKeysWithValues: sd.map { (String($0.key.dropFirst("module.".count)), $0.value) })
        }
        return sd
    }

    static func keys(_ d: [(Pickle.Value, Pickle.Value)]) -> String {
        d.prefix(12).map { k, _ in k.string ?? k.kind }.joined(separator: ", ")
    }
}

public struct TorchCheckpointError: Error, CustomStringConvertible {
    public let description: String
    init(_ file: String, _ problem: String) { description = "checkpoint \(file): \(problem)" }
}

