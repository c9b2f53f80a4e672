import Foundation

/// What a client's update is: the quantity an attacker intercepts.
///
/// Sign convention: both kinds point the way a gradient points, so the server always moves the weights
/// *against* the (averaged) update, and label inference from the last layer works on either:
/// - FedSGD: `g = dL/dw` at the server's weights; the server steps `w <- w - lr * mean(g)`.
/// - FedAvg: the client starts from the server's weights `w_0`, takes S local SGD steps
///   `w_{s+1} = w_s - lr * dL/dw(w_s)` and sends `w_0 - w_S = lr * (g_0 + ... + g_{S-1})`; the server steps
///   `w <- w - mean(w_0 - w_S)` (server learning rate 1).
public enum UpdateKind: Sendable, Hashable, Codable {
    /// FedSGD: the gradient of the mean cross-entropy over the client's batch.
    case gradient
    /// FedAvg: S local SGD steps with learning rate `lr`, each on the client's whole batch; the update is
    /// `w_0 - w_S`.
    case fedAvg(steps: Int, lr: Double)

    /// The local steps a client takes (1 for a gradient, which is not applied locally).
    public var localSteps: Int {
        switch self {
        case .gradient: return 1
        case let .fedAvg(steps, _): return steps
        }
    }

    /// e.g. "FedSGD gradient" or "FedAvg weight difference w0 - wS (S=3, lr=0.1)".
    public var label: String {
        switch self {
        case .gradient: return "FedSGD gradient"
        case let .fedAvg(s, lr): return "FedAvg weight difference w0 - wS (S=\(s), lr=\(lr))"
        }
    }

    /// The safetensors metadata that records the kind (`kind`, and `local_steps`, `local_lr` for FedAvg).
    public var metadata: [String: String] {
        switch self {
        case .gradient: return ["kind": "fedsgd-gradient"]
        case let .fedAvg(s, lr): return ["kind": "fedavg-weight-difference", "local_steps": "\(s)", "local_lr": "\(lr)"]
        }
    }

    /// Reads the kind back from update metadata; a file without `kind` is a FedSGD gradient.
    public init(metadata: [String: String]) throws {
        switch metadata["kind"] {
        case nil, "fedsgd-gradient"?: self = .gradient
        case "fedavg-weight-difference"?:
            guard let s = metadata["local_steps"].flatMap({ Int($0) }), s >= 1,
                  let lr = metadata["local_lr"].flatMap({ Double($0) }), lr > 0, lr.isFinite else {
                throw SimulationError.invalid("a FedAvg update needs metadata local_steps >= 1 and local_lr > 0, got "
                                              + "local_steps=\(metadata["local_steps"] ?? "none"), local_lr=\(metadata["local_lr"] ?? "none")")
            }
            self = .fedAvg(steps: s, lr: lr)
        case let other?:
            throw SimulationError.invalid("unknown update kind '\(other)' (known: fedsgd-gradient, fedavg-weight-difference)")
        }
    }

    /// Checks the parameters (steps >= 1, finite lr > 0).
    public func validate() throws {
        if case let .fedAvg(s, lr) = self {
            guard s >= 1 else { throw SimulationError.invalid("FedAvg needs at least 1 local step, got \(s)") }
            guard lr > 0, lr.isFinite else { throw SimulationError.invalid("FedAvg needs a positive learning rate, got \(lr)") }
        }
    }
}

/// A federated simulation that cannot run as configured: `description` is one line naming the problem.
public enum SimulationError: Error, Equatable, CustomStringConvertible {
    case invalid(String)

    public var description: String {
        switch self {
        case let .invalid(why): return why
        }
    }
}
