import Foundation
import SafeIO
import Tensor

/// One tensor of a safetensors file, converted to Float32 (floats) or kept as Int64 (integer buffers).
public struct StoredTensor: Sendable {
    public enum DType: String, Sendable { case F32, F64, F16, BF16, I64, I32 }
    public let dtype: DType
    public let shape: [Int]
    public let floats: [Float]
    public var tensor: Tensor { Tensor(shape: shape, data: floats) }
}

public enum SafetensorsError: Error, CustomStringConvertible {
    case unreadable(String, String)
    case malformed(String, String)
    case unsupportedDType(String, key: String, dtype: String)
    public var description: String {
        switch self {
        case .unreadable(let p, let why): return "cannot read safetensors file \(p): \(why)"
        case .malformed(let p, let why): return "\(p) is not a valid safetensors file: \(why)"
        case .unsupportedDType(let p, let k, let d): return "\(p): tensor '\(k)' has unsupported dtype \(d) (F32, F64, F16, BF16, I64, I32 are read)"
        }
    }
}

/// The safetensors format (8-byte little-endian header length, JSON header, raw little-endian data).
public enum Safetensors {
    /// Reads every tensor; names keep the file's header order.
    public static func read(_ path: String) throws -> (names: [String], tensors: [String: StoredTensor], metadata: [String: String]) {
        let data: Data
        do { data = try BoundedFile.read(path, limit: BoundedFile.Limit.tensors, what: "safetensors file") } catch let e as FileError {
            throw SafetensorsError.unreadable(path, e.problem)
        }
        return try parse(data, name: path)
    }

    public static func parse(_ data: Data, name: String) throws -> (names: [String], tensors: [String: StoredTensor], metadata: [String: String]) {
        let bytes = [UInt8](data)
        guard bytes.count >= 8 else { throw SafetensorsError.malformed(name, "file is \(bytes.count) bytes, shorter than the 8-byte header length") }
        var n: UInt64 = 0
        for i in 0..<8 { n |= UInt64(bytes[i]) << (8 * UInt64(i)) }
        guard n > 1, n <= UInt64(bytes.count - 8) else { throw SafetensorsError.malformed(name, "header length \(n) does not fit a \(bytes.count)-byte file (truncated?)") }
        let headerEnd = 8 + Int(n)
        let headerData = Data(bytes[8..<headerEnd])
        guard let obj = try? JSONSerialization.jsonObject(with: headerData), let header = obj as? [String: Any] else {
            throw SafetensorsError.malformed(name, "header is not a JSON object")
        }
        // Preserve header order: scan the raw JSON for top-level keys.
        let order = topLevelKeys(headerData).filter { $0 != "__metadata__" && header[$0] != nil }
        var metadata: [String: String] = [:]
        if let m = header["__metadata__"] as? [String: Any] { for (k, v) in m { metadata[k] = "\(v)" } }
        let dataLen = bytes.count - headerEnd
        var out: [String: StoredTensor] = [:]
        for key in order {
            guard let entry = header[key] as? [String: Any], let dt = entry["dtype"] as? String,
                  let shapeAny = entry["shape"] as? [Any], let offs = entry["data_offsets"] as? [Any], offs.count == 2 else {
                throw SafetensorsError.malformed(name, "entry '\(key)' lacks dtype, shape or data_offsets")
            }
            guard let dtype = StoredTensor.DType(rawValue: dt) else { throw SafetensorsError.unsupportedDType(name, key: key, dtype: dt) }
            // Integers from the header, refused (not trapped on) when negative, fractional or beyond any file.
            func integer(_ v: Any) -> Int? {
                guard let n = v as? NSNumber else { return nil }
                let d = n.doubleValue
                guard d.isFinite, d >= 0, d <= 1e15, d == d.rounded() else { return nil }
                return Int(d)
            }
            let shape = try shapeAny.map { v -> Int in
                guard let i = integer(v) else { throw SafetensorsError.malformed(name, "entry '\(key)' has a bad shape") }
                return i
            }
            guard let b = integer(offs[0]), let e = integer(offs[1]), e >= b, e <= dataLen else {
                throw SafetensorsError.malformed(name, "entry '\(key)' byte range \(offs) lies outside the \(dataLen)-byte data section")
            }
            let size: Int
            switch dtype { case .F32, .I32: size = 4; case .F64, .I64: size = 8; case .F16, .BF16: size = 2 }
            var count = 1
            for d in shape {
                let (m, overflow) = count.multipliedReportingOverflow(by: d)
                guard !overflow, m <= dataLen else {
                    throw SafetensorsError.malformed(name, "entry '\(key)' has shape \(shape), more values than the \(dataLen)-byte data section holds")
                }
                count = m
            }
            guard e - b == count * size else {
                throw SafetensorsError.malformed(name, "entry '\(key)' has \(e - b) bytes for shape \(shape) of \(dt) (expected \(count * size))")
            }
            var floats = [Float](repeating: 0, count: count)
            bytes.withUnsafeBufferPointer { buf in
                let base = UnsafeRawPointer(buf.baseAddress! + headerEnd + b)
                for i in 0..<count {
                    switch dtype {
                    case .F32: floats[i] = Float(bitPattern: base.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self).littleEndian)
                    case .F64: floats[i] = Float(Double(bitPattern: base.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self).littleEndian))
                    case .F16: floats[i] = halfToFloat(base.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self).littleEndian)
                    case .BF16: floats[i] = Float(bitPattern: UInt32(base.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self).littleEndian) << 16)
                    case .I64: floats[i] = Float(Int64(bitPattern: base.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self).littleEndian))
                    case .I32: floats[i] = Float(Int32(bitPattern: base.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self).littleEndian))
                    }
                }
            }
            if let bad = floats.firstIndex(where: { !$0.isFinite }) {
                throw SafetensorsError.malformed(name, "tensor '\(key)' holds \(floats[bad].isNaN ? "NaN" : "an infinite value") (at flat index \(bad)); "
                                                 + "weights and updates must be finite numbers")
            }
            out[key] = StoredTensor(dtype: dtype, shape: shape, floats: floats)
        }
        return (order, out, metadata)
    }

    /// Writes Float32 tensors (and optional metadata) to `path`, created owner-only (0600).
    public static func write(_ tensors: [(String, Tensor)], metadata: [String: String] = [:], to path: String) throws {
        var header: [(String, String)] = []
        var offset = 0
        for (k, t) in tensors {
            let shape = t.shape.map(String.init).joined(separator: ",")
            header.append((k, "{\"dtype\":\"F32\",\"shape\":[\(shape)],\"data_offsets\":[\(offset),\(offset + 4 * t.count)]}"))
            offset += 4 * t.count
        }
        var json = "{"
        if !metadata.isEmpty {
            let m = metadata.sorted { $0.key < $1.key }.map { "\(jsonString($0.key)):\(jsonString($0.value))" }.joined(separator: ",")
            json += "\"__metadata__\":{\(m)}" + (header.isEmpty ? "" : ",")
        }
        json += header.map { "\(jsonString($0.0)):\($0.1)" }.joined(separator: ",") + "}"
        var hbytes = Array(json.utf8)
        while (hbytes.count + 8) % 8 != 0 { hbytes.append(0x20) }   // pad to 8-byte alignment
        var out = [UInt8]()
        out.reserveCapacity(8 + hbytes.count + offset)
        var n = UInt64(hbytes.count)
        for _ in 0..<8 { out.append(UInt8(n & 0xff)); n >>= 8 }
        out += hbytes
        for (_, t) in tensors {
            t.withUnsafeBufferPointer { buf in
                for v in buf { let b = v.bitPattern.littleEndian; out += [UInt8(b & 0xff), UInt8((b >> 8) & 0xff), UInt8((b >> 16) & 0xff), UInt8(b >> 24)] }
            }
        }
        do { try PrivateFile.write(Data(out), to: path) } catch let e as FileError {
            throw SafetensorsError.unreadable(path, e.problem)
        }
    }

    static func jsonString(_ s: String) -> String {
        let d = try! JSONSerialization.data(withJSONObject: [s], options: [.fragmentsAllowed])
        let str = String(decoding: d, as: UTF8.self)
        return String(str.dropFirst().dropLast())
    }

    /// Keys of the top-level JSON object in document order.
    static func topLevelKeys(_ data: Data) -> [String] {
        let b = [UInt8](data)
        var keys: [String] = []
        var depth = 0, i = 0
        var expectKey = false
        while i < b.count {
            let c = b[i]
            if c == UInt8(ascii: "\"") {
                var j = i + 1
                var s = [UInt8]()
                while j < b.count && b[j] != UInt8(ascii: "\"") {
                    if b[j] == UInt8(ascii: "\\") && j + 1 < b.count { s.append(b[j]); j += 1 }
                    s.append(b[j]); j += 1
                }
                if depth == 1 && expectKey {
                    let raw = "\"" + String(decoding: s, as: UTF8.self) + "\""
                    if let k = try? JSONSerialization.jsonObject(with: Data(raw.utf8), options: [.fragmentsAllowed]) as? String { keys.append(k) }
                    expectKey = false
                }
                i = j + 1; continue
            }
            if c == UInt8(ascii: "{") || c == UInt8(ascii: "[") { depth += 1; if depth == 1 { expectKey = true } }
            else if c == UInt8(ascii: "}") || c == UInt8(ascii: "]") { depth -= 1 }
            else if c == UInt8(ascii: ",") && depth == 1 { expectKey = true }
            i += 1
        }
        return keys
    }
}

/// IEEE 754 half precision to single precision.
@inline(__always) public func halfToFloat(_ h: UInt16) -> Float {
    let sign = UInt32(h >> 15) << 31
    let exp = Int((h >> 10) & 0x1f)
    let mant = UInt32(h & 0x3ff)
    if exp == 0 {
        if mant == 0 { return Float(bitPattern: sign) }
        let v = Float(mant) * Float(sign: .plus, exponent: -24, significand: 1)
        return sign != 0 ? -v : v
    }
    if exp == 31 { return Float(bitPattern: sign | 0x7f80_0000 | (mant << 13)) }
    return Float(bitPattern: sign | (UInt32(exp + 112) << 23) | (mant << 13))
}
