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
        let sd: [String: StoredTensor]
        do {
            let size = try BoundedFile.size(path, what: "checkpoint")
            guard size <= Int64(BoundedFile.Limit.tensors) else { throw TorchCheckpointError(path, "it is \(byteCount(size)), more than this machine's memory") }
            if try BoundedFile.head(path, count: 4, what: "checkpoint").starts(with: zipMagic) {
                try ZipDirectory.check([UInt8](try BoundedFile.read(path, limit: BoundedFile.Limit.tensors, what: "checkpoint")), name: path)
                sd = try readZip(URL(fileURLWithPath: path), name: path, key: key)
            } else {
                sd = try read(try BoundedFile.read(path, limit: BoundedFile.Limit.tensors, what: "checkpoint"), name: path, key: key)
            }
        } catch let e as FileError {
            throw TorchCheckpointError(path, e.problem)
        } catch let f as Pickle.Failure {
            throw TorchCheckpointError(path, f.message)
        }
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

    static let zipMagic: [UInt8] = [0x50, 0x4B, 0x03, 0x04]

    /// The state dict of a legacy-format checkpoint held in memory (a zip archive is read from its file:
    /// `readZip`).
    static func read(_ data: Data, name: String, key: String? = nil) throws -> [String: StoredTensor] {
        if data.starts(with: zipMagic) { throw TorchCheckpointError(name, "a zip archive: read it from its file") }
        guard data.starts(with: [0x80]) else {
            throw TorchCheckpointError(name, "not a PyTorch checkpoint (neither torch.save's zip format nor its legacy format)")
        }
        do { return try readLegacy(data, name: name, key: key) } catch let f as Pickle.Failure { throw TorchCheckpointError(name, f.message) }
    }

    /// torch.save's zip format. The archive is read from its file (ZIPFoundation's file-backed archive):
    /// its in-memory archive traps on a damaged central directory that points past the end (found by FuzzTests).
    static func readZip(_ url: URL, name: String, key: String?) throws -> [String: StoredTensor] {
        let archive: Archive
        do { archive = try Archive(url: url, accessMode: .read) } catch {
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


/// A bounds check of a zip archive's directory (end records, zip64 records, every central-directory entry
/// and its local header) before ZIPFoundation reads it: ZIPFoundation 0.9.20 traps on an offset or size beyond
/// the file (found by FuzzTests), so every offset and length is checked against the file here first.
enum ZipDirectory {
    static func check(_ b: [UInt8], name: String) throws {
        func fail(_ why: String) -> TorchCheckpointError { TorchCheckpointError(name, "a damaged or truncated zip archive (\(why))") }
        func raw(_ at: Int, _ n: Int) throws -> UInt64 {
            guard at >= 0, at <= b.count - n else { throw fail("a record runs past the end") }
            var v: UInt64 = 0
            for k in 0..<n { v |= UInt64(b[at + k]) << (8 * UInt64(k)) }
            return v
        }
        /// An offset, size or count: at most 0xFFFFFFFF (the zip64 marker), or within the file.
        func uint(_ at: Int, _ n: Int) throws -> Int {
            let v = try raw(at, n)
            guard v <= 0xFFFF_FFFF || v <= UInt64(b.count) else { throw fail("an offset or size beyond the file") }
            return Int(v)
        }
        func sig(_ at: Int, _ s: UInt32) -> Bool { (try? raw(at, 4)) == UInt64(s) }
        guard b.count >= 22 else { throw fail("too short") }
        let lowest = max(0, b.count - 22 - 65535)
        guard let eocd = stride(from: b.count - 22, through: lowest, by: -1).first(where: { sig($0, 0x0605_4b50) }) else {
            throw fail("no end-of-central-directory record")
        }
        var entries = try uint(eocd + 10, 2), cdSize = try uint(eocd + 12, 4), cdOffset = try uint(eocd + 16, 4)
        var cdLimit = eocd
        if eocd >= 20, sig(eocd - 20, 0x0706_4b50) {
            let z = try uint(eocd - 20 + 8, 8)
            guard z <= eocd - 20 - 56, sig(z, 0x0606_4b50) else { throw fail("a zip64 locator that points nowhere") }
            entries = try uint(z + 32, 8); cdSize = try uint(z + 40, 8); cdOffset = try uint(z + 48, 8)
            guard entries <= b.count, cdSize <= b.count, cdOffset <= b.count else { throw fail("zip64 sizes beyond the file") }
            cdLimit = z
        }
        guard cdOffset <= cdLimit, cdSize <= cdLimit - cdOffset, entries <= cdSize / 46 else { throw fail("a central directory outside the file") }
        var p = cdOffset
        for _ in 0..<entries {
            guard sig(p, 0x0201_4b50), p + 46 <= cdOffset + cdSize else { throw fail("a broken central-directory entry") }
            var compressed = try uint(p + 20, 4), uncompressed = try uint(p + 24, 4), local = try uint(p + 42, 4)
            let n = try uint(p + 28, 2), m = try uint(p + 30, 2), k = try uint(p + 32, 2)
            let next = p + 46 + n + m + k
            guard next <= cdOffset + cdSize else { throw fail("a central-directory entry runs past the directory") }
            // Extra fields: each (tag, size) block must fit; the zip64 block holds the 64-bit sizes and offset.
            var e = p + 46 + n
            while e + 4 <= p + 46 + n + m {
                let tag = try uint(e, 2), size = try uint(e + 2, 2)
                guard e + 4 + size <= p + 46 + n + m else { throw fail("an extra field runs past its entry") }
                if tag == 1 {
                    var q = e + 4
                    func wide(_ v: inout Int) throws {
                        guard v == 0xFFFF_FFFF else { return }
                        guard q + 8 <= e + 4 + size else { throw fail("a short zip64 extra field") }
                        v = try uint(q, 8); q += 8
                        guard v <= b.count * 1032 + 1 else { throw fail("a zip64 size or offset beyond the file") }
                    }
                    try wide(&uncompressed); try wide(&compressed); try wide(&local)
                }
                e += 4 + size
            }
            guard uncompressed <= b.count * 1032 + 1 else { throw fail("an entry larger than any deflate of the file") }
            guard local <= cdOffset - 30, sig(local, 0x0403_4b50) else { throw fail("an entry whose local header is missing") }
            let ln = try uint(local + 26, 2), lm = try uint(local + 28, 2)
            guard local + 30 + ln + lm <= cdOffset, compressed <= cdOffset - (local + 30 + ln + lm) else {
                throw fail("an entry's data runs past the archive's data")
            }
            p = next
        }
    }
}
