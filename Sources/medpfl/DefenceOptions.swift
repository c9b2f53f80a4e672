import ArgumentParser
import Federated
import Foundation

/// `--defense SPEC`: the client-side defence, shared by `update`, `attack` and `train`.
struct DefenceOptions: ParsableArguments {
    @Option(name: .customLong("defense"),
            help: "Client-side defence, e.g. none, laplace:level=100, gaussian:relative=0.1, dp:clip=4,sigma=0.5, prune:p=90, quantize:bits=4, secagg:clients=4 (combine with +).")
    var defense: String = "none"

    /// The parsed spec; a malformed one is bad input (one line, exit 2). Call before any work.
    func spec() throws -> DefenceSpec {
        do { return try DefenceSpec(parsing: defense) } catch let e as DefenceSpecError {
            throw InputError("--defense: \(e.message)")
        }
    }
}

/// `--fedavg-steps S --fedavg-lr LR`: the client sends a FedAvg weight difference instead of a gradient.
struct FedAvgOptions: ParsableArguments {
    @Option(help: "FedAvg: the client takes this many local SGD steps on its whole batch and sends w0 - wS (default: a FedSGD gradient).")
    var fedavgSteps: Int?
    @Option(help: "FedAvg: local learning rate (with --fedavg-steps; default 0.1).")
    var fedavgLr: Double?

    /// The update kind; inconsistent options are bad input. Call before any work.
    func kind() throws -> UpdateKind {
        guard let s = fedavgSteps else {
            if fedavgLr != nil { throw InputError("--fedavg-lr needs --fedavg-steps") }
            return .gradient
        }
        let kind = UpdateKind.fedAvg(steps: s, lr: fedavgLr ?? 0.1)
        try input { try kind.validate() }
        return kind
    }

    /// True when any FedAvg option was given.
    var given: Bool { fedavgSteps != nil || fedavgLr != nil }
}

/// What a defence did to the intercepted updates, for JSON output.
struct DefenceReport: Encodable {
    let spec: String
    let label: String
    let updateKind: String
    let clientsPerUpdate: Int
    /// One list per intercepted update: what the defence did to each client's part of it.
    let effects: [[DefenceEffect]]
    let secureAggregation: [SecureAggregationCheck]

    init(spec: DefenceSpec, kind: UpdateKind, rounds: [InterceptedRound]) {
        self.spec = spec.description
        self.label = spec.label
        self.updateKind = kind.label
        self.clientsPerUpdate = rounds.first?.clients ?? (spec.secureAggregationClients ?? 1)
        self.effects = rounds.map(\.effects)
        self.secureAggregation = rounds.compactMap(\.secureAggregation)
    }
}
