import Foundation

/// One setting of an attack that an audit file (`attacks: [- dlg: {iterations: 100}]`) or the command line
/// (`--param iterations=100`) may override: its key, type and range, one line of documentation, and how
/// it reads and writes an `AttackConfig`. The common ones are defined here once; an attack lists those it
/// takes, and may define its own (stored in `AttackConfig.extras`).
public struct AttackParameter: Sendable {
    public enum ValueType: Sendable, Equatable {
        /// A whole number in `min...max` (an audit file's whole numbers stop at a billion anyway; a parameter that sizes
        /// memory, such as a count of parallel starts, sets a tighter bound so a typo cannot exhaust the machine).
        case integer(min: Int, max: Int = 1_000_000_000)
        /// A finite number above `min` (or at least `min` when `inclusive`).
        case number(min: Double, inclusive: Bool)
        /// One of these words.
        case choice([String])
    }

    /// A parsed value of a parameter.
    public enum Value: Sendable, Equatable {
        case integer(Int), number(Double), word(String)
    }

    public let key: String
    public let type: ValueType
    public let doc: String
    let read: @Sendable (AttackConfig) -> String?
    let write: @Sendable (inout AttackConfig, Value) -> Void

    public init(key: String, type: ValueType, doc: String, read: @escaping @Sendable (AttackConfig) -> String?,
                write: @escaping @Sendable (inout AttackConfig, Value) -> Void) {
        self.key = key; self.type = type; self.doc = doc; self.read = read; self.write = write
    }

    /// The type and range in words: "integer >= 1", "number > 0", "one of randn, patterned".
    public var typeText: String {
        switch type {
        case let .integer(lo, hi): return hi < 1_000_000_000 ? "integer \(lo) to \(hi)" : "integer >= \(lo)"
        case .number(let lo, let inclusive): return "number \(inclusive ? ">=" : ">") \(Self.format(lo))"
        case .choice(let words): return words.map { "`\($0)`" }.joined(separator: ", ")
        }
    }

    /// This parameter's value in `config`, as text ("none" when unset).
    public func value(in config: AttackConfig) -> String { read(config) ?? "none" }

    /// Checks a value and writes it into `config`; throws with the range when it does not fit.
    public func set(_ v: Value, in config: inout AttackConfig) throws {
        switch (type, v) {
        case (.integer(let lo, let hi), .integer(let i)):
            guard i >= lo else { throw AttackParameterError("\(key) must be at least \(lo), got \(i)") }
            guard i <= hi else { throw AttackParameterError("\(key) must be at most \(hi), got \(i)") }
        case (.number(let lo, let inclusive), .number(let x)):
            guard x.isFinite, inclusive ? x >= lo : x > lo else { throw AttackParameterError("\(key) must be \(typeText), got \(Self.format(x))") }
        case (.number, .integer(let i)):
            return try set(.number(Double(i)), in: &config)
        case (.choice(let words), .word(let w)):
            guard words.contains(w) else { throw AttackParameterError("'\(w)' is not one of \(words.joined(separator: ", "))") }
        default:
            throw AttackParameterError("\(key) must be \(typeText)")
        }
        write(&config, v)
    }

    /// Parses text (from the command line) by this parameter's type, then `set`s it.
    public func set(text: String, in config: inout AttackConfig) throws {
        let t = text.trimmingCharacters(in: .whitespaces)
        switch type {
        case .integer:
            guard let i = Int(t) else { throw AttackParameterError("\(key) expects a whole number, got '\(text)'") }
            try set(.integer(i), in: &config)
        case .number:
            guard let x = Double(t) else { throw AttackParameterError("\(key) expects a number, got '\(text)'") }
            try set(.number(x), in: &config)
        case .choice:
            try set(.word(t), in: &config)
        }
    }

    static func format(_ x: Double) -> String {
        x == x.rounded() && Swift.abs(x) < 1e6 ? String(Int(x)) : String(describing: x)
    }
}

/// A parameter value that does not fit its type or range, or a parameter the attack does not take.
public struct AttackParameterError: Error, CustomStringConvertible {
    public let description: String
    public init(_ d: String) { description = d }
}

extension AttackParameter {
    static func iterations(_ what: String) -> AttackParameter {
        AttackParameter(key: "iterations", type: .integer(min: 1), doc: what,
                        read: { String($0.iterations) }, write: { if case .integer(let i) = $1 { $0.iterations = i } })
    }
    static let maxIter = AttackParameter(key: "max_iter", type: .integer(min: 1), doc: "L-BFGS iterations inside one step (torch `max_iter`).",
                                         read: { String($0.maxIterPerStep) }, write: { if case .integer(let i) = $1 { $0.maxIterPerStep = i } })
    static let learningRate = AttackParameter(key: "lr", type: .number(min: 0, inclusive: false), doc: "Optimiser learning rate.",
                                              read: { format($0.learningRate) }, write: { if case .number(let x) = $1 { $0.learningRate = x } })
    static let initialization = AttackParameter(
        key: "init", type: .choice(InitScheme.allCases.map(\.rawValue)), doc: "How the dummy images start.",
        read: { $0.initialization.rawValue }, write: { if case .word(let w) = $1, let s = InitScheme(rawValue: w) { $0.initialization = s } })
    static let totalVariation = AttackParameter(key: "tv", type: .number(min: 0, inclusive: true), doc: "Total-variation weight.",
                                                read: { format($0.tvWeight) }, write: { if case .number(let x) = $1 { $0.tvWeight = x } })
    static let earlyStop = AttackParameter(key: "early_stop", type: .number(min: 0, inclusive: false),
                                           doc: "Stop a start once its matching loss is below this.",
                                           read: { $0.earlyStopLoss.map(format) }, write: { if case .number(let x) = $1 { $0.earlyStopLoss = x } })
    static let restarts = AttackParameter(key: "restarts", type: .integer(min: 1),
                                          doc: "Starts at most; the one with the lowest matching loss is reported (never chosen by the originals).",
                                          read: { String($0.restarts) }, write: { if case .integer(let i) = $1 { $0.restarts = i } })
    static let restartPolicy = AttackParameter(
        key: "restart_policy", type: .choice(AttackConfig.RestartPolicy.allCases.map(\.rawValue)),
        doc: "When another start is tried: `unsatisfied` while no start reached `satisfied_loss` and no two starts ended within 10 % of each other (a loss floor set by the update's noise); `on-stall` only after an unsatisfied start that stalled; `always` every start.",
        read: { ($0.restartPolicy ?? .always).rawValue },
        write: { if case .word(let w) = $1, let p = AttackConfig.RestartPolicy(rawValue: w) { $0.restartPolicy = p } })
    static let satisfiedLoss = AttackParameter(key: "satisfied_loss", type: .number(min: 0, inclusive: false),
                                               doc: "No further start once a start's relative matching loss (loss / |update|^2; cosine: the loss) is at most this.",
                                               read: { $0.satisfiedLoss.map(format) }, write: { if case .number(let x) = $1 { $0.satisfiedLoss = x } })
    /// The settings every restarting optimisation attack takes.
    static let starts: [AttackParameter] = [.restarts, .restartPolicy, .satisfiedLoss]
}

extension AttackParameter {
    /// A setting of one attack only, kept in `AttackConfig.extras` under `key` as text (the attack's `defaults`
    /// hold its default there, so `value(in:)` shows it).
    static func extra(_ key: String, _ type: ValueType, doc: String) -> AttackParameter {
        AttackParameter(key: key, type: type, doc: doc, read: { $0.extras?[key] },
                        write: { c, v in
                            var e = c.extras ?? [:]
                            switch v {
                            case .integer(let i): e[key] = String(i)
                            case .number(let x): e[key] = format(x)
                            case .word(let w): e[key] = w
                            }
                            c.extras = e
                        })
    }
}

extension AttackConfig {
    /// An attack's own setting as a number (nil when unset or not a number).
    func extraNumber(_ key: String) -> Double? { extras?[key].flatMap(Double.init) }
    /// An attack's own setting as a whole number.
    func extraInteger(_ key: String) -> Int? { extras?[key].flatMap { Int($0) } }
    /// An attack's own setting as a word.
    func extraWord(_ key: String) -> String? { extras?[key] }
}
