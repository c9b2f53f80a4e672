import Foundation

/// A restricted unpickler (pickle protocols 2-5) for PyTorch checkpoints: it builds plain data (dicts, lists,
/// tuples, numbers, strings, bytes) and tensor references, and accepts exactly the globals that
/// `torch.load(weights_only=True)` needs for a state dict. Any other global is refused by its name; nothing in
/// the pickle is ever executed.
enum Pickle {
    /// A dict or list, shared by reference (the pickle memo refers to one object from several places).
    final class Box<T> { var items: [T]; init(_ items: [T] = []) { self.items = items } }

    indirect enum Value {
        case none, bool(Bool), int(Int64), bigInt([UInt8]), float(Double), string(String), bytes([UInt8])
        case list(Box<Value>), tuple([Value]), dict(Box<(Value, Value)>)
        case global(String)
        case storage(Storage)
        case tensor(TensorRef)
        case mark

        var kind: String {
            switch self {
            case .none: return "None"
            case .bool: return "bool"
            case .int, .bigInt: return "int"
            case .float: return "float"
            case .string: return "str"
            case .bytes: return "bytes"
            case .list: return "list"
            case .tuple: return "tuple"
            case .dict: return "dict"
            case .global(let g): return g
            case .storage: return "storage"
            case .tensor: return "tensor"
            case .mark: return "mark"
            }
        }
        var string: String? { if case .string(let s) = self { return s }; return nil }
        var integer: Int? { if case .int(let i) = self, i >= 0, i < 1 << 40 { return Int(i) }; return nil }
    }

    struct Storage {
        let dtype: StoredTensor.DType
        let key: String
        let elementSize: Int
    }

    struct TensorRef {
        let storage: Storage
        let offset: Int
        let shape: [Int]
        let strides: [Int]
    }

    /// The storage classes torch.save names (dtype, element size).
    static let storageTypes: [String: (StoredTensor.DType, Int)] = [
        "torch.FloatStorage": (.F32, 4), "torch.DoubleStorage": (.F64, 8), "torch.HalfStorage": (.F16, 2),
        "torch.BFloat16Storage": (.BF16, 2), "torch.LongStorage": (.I64, 8), "torch.IntStorage": (.I32, 4),
    ]
    /// The globals a state dict may name (as `torch.load(weights_only=True)` allows them).
    static let allowedGlobals: Set<String> = Set(storageTypes.keys).union([
        "collections.OrderedDict", "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_tensor",
        "torch._utils._rebuild_parameter", "builtins.set", "builtins.frozenset",
    ])

    struct Failure: Error { let message: String }

    /// Parses one pickle starting at `start`; returns the object and the offset after its STOP.
    /// `seen` collects the storages referenced (the legacy format needs their types to read their bytes).
    static func parse(_ b: [UInt8], from start: Int, seen: inout [String: Storage]) throws -> (Value, Int) {
        var stack: [Value] = []
        var memo: [Int: Value] = [:]
        var i = start
        func need(_ n: Int) throws { guard n >= 0, i + n <= b.count else { throw Failure(message: "truncated pickle") } }
        func u(_ n: Int) throws -> UInt64 {
            try need(n)
            var v: UInt64 = 0
            for k in 0..<n { v |= UInt64(b[i + k]) << (8 * UInt64(k)) }
            i += n
            return v
        }
        func take(_ n: Int) throws -> [UInt8] { try need(n); defer { i += n }; return Array(b[i..<(i + n)]) }
        func pop() throws -> Value { guard let v = stack.popLast() else { throw Failure(message: "pickle stack underflow") }; return v }
        func popMark() throws -> [Value] {
            guard let m = stack.lastIndex(where: { if case .mark = $0 { return true }; return false }) else { throw Failure(message: "pickle without MARK") }
            let items = Array(stack[(m + 1)...])
            stack.removeSubrange(m...)
            return items
        }
        func text(_ bytes: [UInt8]) throws -> String {
            guard let s = String(bytes: bytes, encoding: .utf8) else { throw Failure(message: "a pickle string is not UTF-8") }
            return s
        }
        func length(_ n: UInt64) throws -> Int { guard n <= UInt64(b.count) else { throw Failure(message: "a pickle length beyond the file") }; return Int(n) }
        var steps = 0
        while true {
            steps += 1
            guard steps < 50_000_000 else { throw Failure(message: "pickle too long") }
            try need(1)
            let op = b[i]; i += 1
            switch op {
            case 0x80: _ = try u(1)                                  // PROTO
            case 0x95: _ = try u(8)                                  // FRAME
            case 0x2E: return (try pop(), i)                         // STOP
            case 0x7D: stack.append(.dict(Box()))                    // EMPTY_DICT
            case 0x5D: stack.append(.list(Box()))                    // EMPTY_LIST
            case 0x29: stack.append(.tuple([]))                      // EMPTY_TUPLE
            case 0x8F: stack.append(.list(Box()))                    // EMPTY_SET (as a list)
            case 0x28: stack.append(.mark)                           // MARK
            case 0x58: stack.append(.string(try text(try take(try length(try u(4))))))    // BINUNICODE
            case 0x8C: stack.append(.string(try text(try take(Int(try u(1))))))           // SHORT_BINUNICODE
            case 0x8D: stack.append(.string(try text(try take(try length(try u(8))))))    // BINUNICODE8
            case 0x55: stack.append(.string(try text(try take(Int(try u(1))))))           // SHORT_BINSTRING
            case 0x54: stack.append(.string(try text(try take(try length(try u(4))))))    // BINSTRING
            case 0x43: stack.append(.bytes(try take(Int(try u(1)))))                      // SHORT_BINBYTES
            case 0x42: stack.append(.bytes(try take(try length(try u(4)))))               // BINBYTES
            case 0x8E: stack.append(.bytes(try take(try length(try u(8)))))               // BINBYTES8
            case 0x4A: stack.append(.int(Int64(Int32(truncatingIfNeeded: try u(4)))))    // BININT
            case 0x4B: stack.append(.int(Int64(try u(1))))                                // BININT1
            case 0x4D: stack.append(.int(Int64(try u(2))))                                // BININT2
            case 0x8A, 0x8B:                                                              // LONG1, LONG4
                let n = op == 0x8A ? Int(try u(1)) : try length(try u(4))
                let raw = try take(n)
                if n <= 8 {
                    var v: UInt64 = 0
                    for (k, x) in raw.enumerated() { v |= UInt64(x) << (8 * UInt64(k)) }
                    if n > 0 && n < 8 && raw[n - 1] & 0x80 != 0 { v |= ~UInt64(0) << (8 * UInt64(n)) }
                    stack.append(.int(Int64(bitPattern: v)))
                } else {
                    stack.append(.bigInt(raw))
                }
            case 0x47:                                                                    // BINFLOAT (big-endian)
                let raw = try take(8)
                stack.append(.float(Double(bitPattern: raw.reduce(UInt64(0)) { $0 << 8 | UInt64($1) })))
            case 0x4E: stack.append(.none)
            case 0x88: stack.append(.bool(true))
            case 0x89: stack.append(.bool(false))
            case 0x74: stack.append(.tuple(try popMark()))                                // TUPLE
            case 0x85: stack.append(.tuple([try pop()]))
            case 0x86: let b2 = try pop(), a = try pop(); stack.append(.tuple([a, b2]))
            case 0x87: let c = try pop(), b2 = try pop(), a = try pop(); stack.append(.tuple([a, b2, c]))
            case 0x73:                                                                    // SETITEM
                let v = try pop(), k = try pop()
                guard case .dict(let d) = stack.last else { throw Failure(message: "SETITEM on a \(stack.last?.kind ?? "nothing")") }
                d.items.append((k, v))
            case 0x75:                                                                    // SETITEMS
                let items = try popMark()
                guard items.count % 2 == 0, case .dict(let d) = stack.last else { throw Failure(message: "SETITEMS on a \(stack.last?.kind ?? "nothing")") }
                for k in stride(from: 0, to: items.count, by: 2) { d.items.append((items[k], items[k + 1])) }
            case 0x61:                                                                    // APPEND
                let v = try pop()
                guard case .list(let l) = stack.last else { throw Failure(message: "APPEND on a \(stack.last?.kind ?? "nothing")") }
                l.items.append(v)
            case 0x65, 0x90:                                                              // APPENDS, ADDITEMS
                let items = try popMark()
                guard case .list(let l) = stack.last else { throw Failure(message: "APPENDS on a \(stack.last?.kind ?? "nothing")") }
                l.items += items
            case 0x91: stack.append(.list(Box(try popMark())))                            // FROZENSET
            case 0x71: guard let v = stack.last else { throw Failure(message: "BINPUT on an empty stack") }; memo[Int(try u(1))] = v
            case 0x72: guard let v = stack.last else { throw Failure(message: "LONG_BINPUT on an empty stack") }; memo[Int(try u(4))] = v
            case 0x94: guard let v = stack.last else { throw Failure(message: "MEMOIZE on an empty stack") }; memo[memo.count] = v
            case 0x68, 0x6A:                                                              // BINGET, LONG_BINGET
                let k = Int(try u(op == 0x68 ? 1 : 4))
                guard let v = memo[k] else { throw Failure(message: "pickle memo \(k) is not set") }
                stack.append(v)
            case 0x63:                                                                    // GLOBAL "module\nname\n"
                guard let nl1 = b[i...].firstIndex(of: 0x0A), let nl2 = b[(nl1 + 1)...].firstIndex(of: 0x0A), nl2 - i < 512 else {
                    throw Failure(message: "a damaged GLOBAL")
                }
                let name = try text(Array(b[i..<nl1])) + "." + text(Array(b[(nl1 + 1)..<nl2]))
                i = nl2 + 1
                stack.append(try global(name))
            case 0x93:                                                                    // STACK_GLOBAL
                let n = try pop(), m = try pop()
                guard let ms = m.string, let ns = n.string else { throw Failure(message: "a damaged STACK_GLOBAL") }
                stack.append(try global(ms + "." + ns))
            case 0x52:                                                                    // REDUCE
                let args = try pop(), f = try pop()
                stack.append(try reduce(f, args))
            case 0x81:                                                                    // NEWOBJ
                let args = try pop(), cls = try pop()
                stack.append(try reduce(cls, args))
            case 0x62:                                                                    // BUILD: state of an allowed object
                let state = try pop()
                guard let target = stack.last else { throw Failure(message: "BUILD on an empty stack") }
                switch target {
                case .dict: break           // an OrderedDict's attributes (e.g. state_dict's _metadata): not needed
                case .tensor: break         // a tensor's Python attributes
                default: throw Failure(message: "BUILD on a \(target.kind) (state \(state.kind))")
                }
            case 0x51:                                                                    // BINPERSID
                let pid = try pop()
                guard case .tuple(let t) = pid, t.count >= 5, t[0].string == "storage", case .global(let type) = t[1],
                      let key = t[2].string, let (dtype, size) = storageTypes[type] else {
                    throw Failure(message: "a persistent id that is not a torch storage")
                }
                let s = Storage(dtype: dtype, key: key, elementSize: size)
                seen[key] = s
                stack.append(.storage(s))
            default:
                throw Failure(message: String(format: "pickle opcode 0x%02X is not accepted", op))
            }
        }
    }

    static func global(_ name: String) throws -> Value {
        if !allowedGlobals.contains(name), name.hasPrefix("torch."), name.hasSuffix("Storage") {
            throw Failure(message: "a tensor is stored as \(name), a dtype medpfl does not read (it reads float32, float64, float16, "
                          + "bfloat16, int64 and int32 tensors): save the weights as float32")
        }
        guard allowedGlobals.contains(name) else {
            throw Failure(message: "the pickle names the global '\(name)', which a weights file does not need: refused, never executed")
        }
        return .global(name)
    }

    static func reduce(_ f: Value, _ args: Value) throws -> Value {
        guard case .global(let name) = f, case .tuple(let a) = args else { throw Failure(message: "REDUCE of a \(f.kind)") }
        switch name {
        case "collections.OrderedDict", "builtins.set", "builtins.frozenset":
            if name == "collections.OrderedDict" { return .dict(Box()) }
            if case .list(let l)? = a.first { return .list(Box(l.items)) }
            return .list(Box())
        case "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_tensor":
            guard a.count >= 4, case .storage(let s) = a[0], let offset = a[1].integer,
                  case .tuple(let size) = a[2], case .tuple(let stride) = a[3] else {
                throw Failure(message: "\(name) with unexpected arguments")
            }
            let shape = try size.map { v -> Int in guard let n = v.integer else { throw Failure(message: "a tensor size is not a small whole number") }; return n }
            let strides = try stride.map { v -> Int in guard let n = v.integer else { throw Failure(message: "a tensor stride is not a small whole number") }; return n }
            guard shape.count == strides.count else { throw Failure(message: "a tensor's size and stride differ in length") }
            return .tensor(TensorRef(storage: s, offset: offset, shape: shape, strides: strides))
        case "torch._utils._rebuild_parameter":
            guard let t = a.first, case .tensor = t else { throw Failure(message: "_rebuild_parameter of a \(a.first?.kind ?? "nothing")") }
            return t
        default:
            throw Failure(message: "the global '\(name)' cannot be called")
        }
    }

    /// The tensor's values, gathered through its strides from the storage bytes (little-endian).
    static func materialize(_ r: TensorRef, bytes: [UInt8]) throws -> StoredTensor {
        var count = 1
        for d in r.shape {
            let (m, o) = count.multipliedReportingOverflow(by: d)
            guard !o, m <= bytes.count else { throw Failure(message: "a tensor of shape \(r.shape) is larger than its storage") }
            count = m
        }
        let numel = bytes.count / r.storage.elementSize
        if count > 0 {
            var last = r.offset
            for (d, s) in zip(r.shape, r.strides) { last += (d - 1) * s }
            guard r.offset >= 0, last < numel else {
                throw Failure(message: "a tensor of shape \(r.shape), offset \(r.offset) and strides \(r.strides) reaches beyond its storage of \(numel) values")
            }
        }
        var floats = [Float](repeating: 0, count: count)
        let size = r.storage.elementSize, dtype = r.storage.dtype
        func value(_ e: Int) -> Float {
            let p = e * size
            var v: UInt64 = 0
            for k in 0..<size { v |= UInt64(bytes[p + k]) << (8 * UInt64(k)) }
            switch dtype {
            case .F32: return Float(bitPattern: UInt32(truncatingIfNeeded: v))
            case .F64: return Float(Double(bitPattern: v))
            case .F16: return halfToFloat(UInt16(truncatingIfNeeded: v))
            case .BF16: return Float(bitPattern: UInt32(truncatingIfNeeded: v) << 16)
            case .I64: return Float(Int64(bitPattern: v))
            case .I32: return Float(Int32(truncatingIfNeeded: v))
            }
        }
        // Row-major walk over the index space.
        var index = [Int](repeating: 0, count: r.shape.count)
        for n in 0..<count {
            var e = r.offset
            for k in 0..<index.count { e += index[k] * r.strides[k] }
            floats[n] = value(e)
            var k = index.count - 1
            while k >= 0 { index[k] += 1; if index[k] < r.shape[k] { break }; index[k] = 0; k -= 1 }
        }
        return StoredTensor(dtype: dtype, shape: r.shape, floats: floats)
    }
}
