import Foundation

/// A malformed defence spec: `description` is one line naming the problem and the offending token.
public struct DefenceSpecError: Error, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable, Equatable {
        case empty, unknownDefence, malformedParameter, unknownParameter, duplicateParameter,
             missingParameter, notANumber, notAnInteger, outOfRange, conflictingParameters,
             duplicateDefence, conflictingDefences, budgetTooLow
    }
    public let kind: Kind
    /// The token the message is about (a component such as `prune:p=120`, or a parameter).
    public let token: String
    /// The one-line message.
    public let message: String

    public init(_ kind: Kind, token: String, _ message: String) {
        self.kind = kind
        self.token = token
        self.message = message
    }

    public var description: String { message }
}

extension DefenceSpec: CustomStringConvertible, LosslessStringConvertible {
    /// Parses a spec string (see the type's documentation for the grammar); throws `DefenceSpecError`.
    public init(parsing text: String) throws {
        self = try DefenceSpecParser.parse(text)
    }

    /// Non-throwing form for `LosslessStringConvertible`: nil when malformed.
    public init?(_ description: String) {
        guard let s = try? DefenceSpec(parsing: description) else { return nil }
        self = s
    }

    /// The canonical spec string; parsing it gives back an equal spec.
    public var description: String {
        var parts: [String] = []
        if let dp {
            var p = ["clip=\(canonicalNumber(dp.clipNorm))"]
            switch dp.requested {
            case let .noiseMultiplier(s): p.append("sigma=\(canonicalNumber(s))")
            case let .targetEpsilon(e): p.append("epsilon=\(canonicalNumber(e))")
            }
            if dp.delta != DPSpec.defaultDelta { p.append("delta=\(canonicalNumber(dp.delta))") }
            if dp.sampleRate != DPSpec.defaultSampleRate { p.append("sample-rate=\(canonicalNumber(dp.sampleRate))") }
            if dp.steps != DPSpec.defaultSteps { p.append("steps=\(dp.steps)") }
            parts.append("dp:" + p.joined(separator: ","))
        }
        if let c = clipNorm { parts.append("clip:norm=\(canonicalNumber(c))") }
        if let p = prunePercent { parts.append("prune:p=\(canonicalNumber(p))") }
        switch quantization {
        case let .stochastic(bits)?: parts.append("quantize:bits=\(bits)")
        case .sign?: parts.append("quantize:sign")
        case nil: break
        }
        if let n = noise {
            let value: String
            switch n.scale {
            case let .level(l): value = "level=\(canonicalNumber(l))"
            case let .absolute(s): value = "scale=\(canonicalNumber(s))"
            case let .relative(r): value = "relative=\(canonicalNumber(r))"
            }
            parts.append("\(n.distribution.rawValue):\(value)")
        }
        if let k = secureAggregationClients { parts.append("secagg:clients=\(k)") }
        return parts.isEmpty ? "none" : parts.joined(separator: "+")
    }
}

extension DefenceSpec: Codable {
    /// Encoded as its canonical string.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        let text = try c.decode(String.self)
        do { self = try DefenceSpec(parsing: text) } catch let e as DefenceSpecError {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: e.message)
        }
    }
}

/// Integers without a fractional part ("100"), everything else in Swift's shortest round-trip form.
func canonicalNumber(_ x: Double) -> String {
    if x == x.rounded(), Swift.abs(x) < 1e15 { return String(Int64(x)) }
    return "\(x)"
}

/// The spec grammar: `none` | component ('+' component)*; component = name [':' param (',' param)*];
/// param = key '=' number | flag.
enum DefenceSpecParser {
    static let known = "none, laplace, gaussian, dp, clip, prune, quantize, secagg"

    static func parse(_ text: String) throws -> DefenceSpec {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard !trimmed.isEmpty else {
            throw DefenceSpecError(.empty, token: "", "empty defence spec (write 'none' for no defence)")
        }
        var spec = DefenceSpec()
        var seen: [String: String] = [:]          // kind -> component text
        let components = splitComponents(trimmed)
        for raw in components {
            let comp = raw.trimmingCharacters(in: .whitespaces)
            guard !comp.isEmpty else {
                throw DefenceSpecError(.empty, token: trimmed, "empty defence between '+' signs in '\(trimmed)'")
            }
            let (name, params) = try parameters(of: comp)
            if let previous = seen[name] {
                throw DefenceSpecError(.duplicateDefence, token: comp,
                                       "defence '\(name)' given twice: '\(previous)' and '\(comp)'")
            }
            seen[name] = comp
            switch name {
            case "none":
                if !params.isEmpty {
                    throw DefenceSpecError(.unknownParameter, token: comp, "'none' takes no parameters, got '\(comp)'")
                }
                if components.count > 1 {
                    throw DefenceSpecError(.conflictingDefences, token: comp,
                                           "'none' cannot be combined with other defences in '\(trimmed)'")
                }
            case "laplace", "gaussian": spec.noise = try noise(name, params, comp)
            case "dp": spec.dp = try dp(params, comp)
            case "clip":
                try allow(params, ["norm"], comp, name)
                spec.clipNorm = try number(params, "norm", comp, required: true, where: { $0 > 0 }, "> 0")
            case "prune":
                try allow(params, ["p"], comp, name)
                spec.prunePercent = try number(params, "p", comp, required: true, where: { $0 > 0 && $0 < 100 },
                                               "> 0 and < 100")
            case "quantize": spec.quantization = try quantization(params, comp)
            case "secagg":
                try allow(params, ["clients"], comp, name)
                spec.secureAggregationClients = try integer(params, "clients", comp, required: true,
                                                            where: { $0 >= 2 }, ">= 2")
            default:
                throw DefenceSpecError(.unknownDefence, token: name,
                                       "unknown defence '\(name)' in '\(comp)' (known: \(known))")
            }
        }
        if let dpText = seen["dp"] {
            for other in ["clip", "laplace", "gaussian"] {
                if let o = seen[other] {
                    let why = other == "clip" ? "dp already clips each example" : "dp already adds Gaussian noise"
                    throw DefenceSpecError(.conflictingDefences, token: o,
                                           "\(why): cannot combine '\(dpText)' with '\(o)'")
                }
            }
        }
        if let l = seen["laplace"], let g = seen["gaussian"] {
            throw DefenceSpecError(.conflictingDefences, token: g,
                                   "only one noise defence is allowed: got '\(l)' and '\(g)'")
        }
        return spec
    }

    /// Splits on '+' only where a defence name (a letter) follows, so "1e+5" stays one number.
    static func splitComponents(_ s: String) -> [String] {
        var parts: [String] = []
        var current = ""
        let chars = Array(s)
        for (i, ch) in chars.enumerated() {
            if ch == "+" {
                let next = chars[(i + 1)...].first { $0 != " " }
                let previous = current.last { $0 != " " }
                let insideExponent = previous.map { $0 == "e" || $0 == "E" } ?? false
                    && (next?.isNumber ?? false)
                if !insideExponent { parts.append(current); current = ""; continue }
            }
            current.append(ch)
        }
        parts.append(current)
        return parts
    }

    /// A component's name and its parameters (a bare flag maps to an empty value).
    static func parameters(of comp: String) throws -> (String, [(key: String, value: String?)]) {
        let colon = comp.firstIndex(of: ":")
        let name = String(comp[..<(colon ?? comp.endIndex)]).trimmingCharacters(in: .whitespaces)
        guard let colon else { return (name, []) }
        var params: [(key: String, value: String?)] = []
        for item in comp[comp.index(after: colon)...].split(separator: ",", omittingEmptySubsequences: false) {
            let t = item.trimmingCharacters(in: .whitespaces)
            guard !t.isEmpty else {
                throw DefenceSpecError(.malformedParameter, token: comp, "empty parameter in '\(comp)'")
            }
            if let eq = t.firstIndex(of: "=") {
                let key = t[..<eq].trimmingCharacters(in: .whitespaces)
                let value = t[t.index(after: eq)...].trimmingCharacters(in: .whitespaces)
                guard !key.isEmpty else {
                    throw DefenceSpecError(.malformedParameter, token: t, "parameter without a name: '\(t)' in '\(comp)'")
                }
                guard !value.isEmpty else {
                    throw DefenceSpecError(.malformedParameter, token: t, "missing value for '\(key)' in '\(comp)'")
                }
                if params.contains(where: { $0.key == key }) {
                    throw DefenceSpecError(.duplicateParameter, token: t, "parameter '\(key)' given twice in '\(comp)'")
                }
                params.append((key, value))
            } else {
                if params.contains(where: { $0.key == t }) {
                    throw DefenceSpecError(.duplicateParameter, token: t, "parameter '\(t)' given twice in '\(comp)'")
                }
                params.append((t, nil))
            }
        }
        return (name, params)
    }

    /// Rejects parameters outside `allowed` and bare flags outside `flags`.
    static func allow(_ params: [(key: String, value: String?)], _ allowed: [String], _ comp: String,
                      _ name: String, flags: [String] = []) throws {
        for p in params {
            if p.value == nil, allowed.contains(p.key) {
                throw DefenceSpecError(.malformedParameter, token: p.key,
                                       "expected \(p.key)=<number>, got '\(p.key)' in '\(comp)'")
            }
            if p.value == nil, flags.contains(p.key) { continue }
            if p.value != nil, allowed.contains(p.key) { continue }
            let all = allowed + flags
            let list = all.count == 1 ? all[0]
                : all.dropLast().joined(separator: ", ") + " or " + all.last!
            throw DefenceSpecError(.unknownParameter, token: p.key,
                                   "unknown parameter '\(p.key)' in '\(comp)' (\(name) takes \(list))")
        }
    }

    /// The number `key=` holds, checked against `valid`; nil when absent and not required.
    static func number(_ params: [(key: String, value: String?)], _ key: String, _ comp: String,
                       required: Bool, where valid: (Double) -> Bool, _ range: String) throws -> Double? {
        guard let raw = params.first(where: { $0.key == key })?.value else {
            if required {
                throw DefenceSpecError(.missingParameter, token: comp, "missing parameter '\(key)=' in '\(comp)'")
            }
            return nil
        }
        guard let v = Double(raw) else {
            throw DefenceSpecError(.notANumber, token: "\(key)=\(raw)",
                                   "'\(raw)' is not a number in '\(key)=\(raw)' of '\(comp)'")
        }
        guard v.isFinite else {
            throw DefenceSpecError(.notANumber, token: "\(key)=\(raw)",
                                   "'\(raw)' is not a finite number in '\(key)=\(raw)' of '\(comp)'")
        }
        guard valid(v) else {
            throw DefenceSpecError(.outOfRange, token: "\(key)=\(raw)",
                                   "out of range: '\(key)=\(raw)' in '\(comp)' (\(key) must be \(range))")
        }
        return v
    }

    /// As `number`, but the value must be a whole number.
    static func integer(_ params: [(key: String, value: String?)], _ key: String, _ comp: String,
                        required: Bool, where valid: (Int) -> Bool, _ range: String) throws -> Int? {
        guard let v = try number(params, key, comp, required: required, where: { _ in true }, "") else { return nil }
        let raw = params.first { $0.key == key }!.value!
        guard v == v.rounded(), Swift.abs(v) < 1e9 else {
            throw DefenceSpecError(.notAnInteger, token: "\(key)=\(raw)",
                                   "'\(raw)' is not a whole number in '\(key)=\(raw)' of '\(comp)'")
        }
        guard valid(Int(v)) else {
            throw DefenceSpecError(.outOfRange, token: "\(key)=\(raw)",
                                   "out of range: '\(key)=\(raw)' in '\(comp)' (\(key) must be \(range))")
        }
        return Int(v)
    }

    static func noise(_ name: String, _ params: [(key: String, value: String?)], _ comp: String) throws -> NoiseSpec {
        let keys = name == "laplace" ? ["level", "scale", "relative"] : ["scale", "relative"]
        try allow(params, keys, comp, name)
        let given = keys.filter { k in params.contains { $0.key == k } }
        let list = keys.dropLast().joined(separator: ", ") + " or " + keys.last!
        guard given.count == 1 else {
            if given.isEmpty {
                throw DefenceSpecError(.missingParameter, token: comp,
                                       "missing parameter in '\(comp)': \(name) needs one of \(list)")
            }
            throw DefenceSpecError(.conflictingParameters, token: comp,
                                   "\(name) takes only one of \(list): got \(given.joined(separator: " and ")) in '\(comp)'")
        }
        let v = try number(params, given[0], comp, required: true, where: { $0 > 0 }, "> 0")!
        let scale: NoiseSpec.Scale = given[0] == "level" ? .level(v) : given[0] == "scale" ? .absolute(v) : .relative(v)
        return NoiseSpec(distribution: name == "laplace" ? .laplace : .gaussian, scale: scale)
    }

    static func quantization(_ params: [(key: String, value: String?)], _ comp: String) throws -> Quantization {
        try allow(params, ["bits"], comp, "quantize", flags: ["sign"])
        let hasSign = params.contains { $0.key == "sign" }
        let hasBits = params.contains { $0.key == "bits" }
        if hasSign && hasBits {
            throw DefenceSpecError(.conflictingParameters, token: comp,
                                   "quantize takes only one of bits=<k> or sign: got both in '\(comp)'")
        }
        if hasSign { return .sign }
        guard hasBits else {
            throw DefenceSpecError(.missingParameter, token: comp,
                                   "missing parameter in '\(comp)': quantize needs bits=<k> or sign")
        }
        return .stochastic(bits: try integer(params, "bits", comp, required: true, where: { (1...16).contains($0) },
                                             "between 1 and 16")!)
    }

    static func dp(_ params: [(key: String, value: String?)], _ comp: String) throws -> DPSpec {
        try allow(params, ["clip", "sigma", "epsilon", "delta", "sample-rate", "steps"], comp, "dp")
        let clip = try number(params, "clip", comp, required: true, where: { $0 > 0 }, "> 0")!
        let sigma = try number(params, "sigma", comp, required: false, where: { $0 >= 0 }, ">= 0")
        let eps = try number(params, "epsilon", comp, required: false, where: { $0 > 0 }, "> 0")
        let delta = try number(params, "delta", comp, required: false, where: { $0 > 0 && $0 < 1 }, "> 0 and < 1")
        let q = try number(params, "sample-rate", comp, required: false, where: { $0 > 0 && $0 <= 1 }, "> 0 and <= 1")
        let steps = try integer(params, "steps", comp, required: false, where: { $0 >= 1 }, ">= 1")
        let noise: DPSpec.Noise
        switch (sigma, eps) {
        case let (s?, nil): noise = .noiseMultiplier(s)
        case let (nil, e?): noise = .targetEpsilon(e)
        case (nil, nil):
            throw DefenceSpecError(.missingParameter, token: comp,
                                   "missing parameter in '\(comp)': dp needs sigma=<noise multiplier> or epsilon=<target>")
        default:
            throw DefenceSpecError(.conflictingParameters, token: comp,
                                   "dp takes only one of sigma or epsilon: got both in '\(comp)'")
        }
        do {
            return try DPSpec(clipNorm: clip, noise: noise, delta: delta ?? DPSpec.defaultDelta,
                              sampleRate: q ?? DPSpec.defaultSampleRate, steps: steps ?? DPSpec.defaultSteps)
        } catch let e as PrivacyAccountingError {
            throw DefenceSpecError(.budgetTooLow, token: comp, "cannot reach the privacy target of '\(comp)': \(e)")
        }
    }
}
