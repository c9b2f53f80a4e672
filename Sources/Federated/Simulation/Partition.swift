import Foundation

/// How images are dealt to clients.
public enum Partition: Sendable, Hashable, Codable, CustomStringConvertible {
    /// Every client gets a uniformly random, near-equal share of each side (train / test).
    case iid
    /// Label skew: for each class, client shares are drawn from Dirichlet(alpha, ..., alpha); a smaller
    /// alpha gives each client fewer classes.
    case dirichlet(alpha: Double)

    /// Parses `iid` or `dirichlet:ALPHA` (ALPHA > 0).
    public init(parsing text: String) throws {
        let t = text.trimmingCharacters(in: .whitespaces)
        if t == "iid" { self = .iid; return }
        if t.hasPrefix("dirichlet:") {
            let raw = String(t.dropFirst("dirichlet:".count))
            guard let a = Double(raw), a > 0, a.isFinite else {
                throw SimulationError.invalid("bad split '\(text)': the Dirichlet alpha must be a positive number, got '\(raw)'")
            }
            self = .dirichlet(alpha: a)
            return
        }
        throw SimulationError.invalid("bad split '\(text)' (expected iid or dirichlet:ALPHA, e.g. dirichlet:0.5)")
    }

    /// `iid` or `dirichlet:ALPHA`; parses back to an equal value.
    public var description: String {
        switch self {
        case .iid: return "iid"
        case let .dirichlet(a): return "dirichlet:\(a)"
        }
    }
}
