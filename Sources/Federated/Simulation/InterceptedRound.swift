import Foundation
import NN
import Tensor

/// What an eavesdropper on the server receives for one batch of images: one client's defended update, or,
/// under secure aggregation over K clients, only the mean of K clients' defended updates.
public struct InterceptedRound: Sendable {
    /// The update as the server holds it (for K clients: the decoded masked sum divided by K, the equal-weight
    /// FedAvg mean).
    public var update: ModelUpdate
    public var kind: UpdateKind
    /// Clients behind the update (1 without secure aggregation).
    public var clients: Int
    /// Images behind the update (clients x images per client).
    public var batchSize: Int
    /// What the defence did to each client's update, in client order.
    public var effects: [DefenceEffect]
    /// Evidence that the pairwise masks cancelled (nil without secure aggregation).
    public var secureAggregation: SecureAggregationCheck?

    /// Splits `images` into K equal consecutive client batches (K = the spec's `secagg:clients`, else 1),
    /// computes each client's update of `kind` and applies `defence` to it (client k draws from
    /// `seed`'s sub-stream "client-k-defence"), then, for K > 1, sums the masked updates as the server does
    /// (`SecureAggregation`, masks seeded by the sub-stream "secagg") and divides by K.
    /// - Throws: `SimulationError.invalid` when the images do not split evenly over the clients.
    public static func simulate(_ kind: UpdateKind, model: Model, state: ModelState, images x: Tensor, labels: [Int],
                                bn: BNMode, defence: DefenceSpec, seed: UInt64) throws -> InterceptedRound {
        try kind.validate()
        let n = x.shape[0], k = defence.secureAggregationClients ?? 1
        guard n == labels.count else { throw SimulationError.invalid("\(n) images but \(labels.count) labels") }
        guard n % k == 0, n >= k else {
            throw SimulationError.invalid("secure aggregation over \(k) clients needs a multiple of \(k) images, got \(n)")
        }
        let per = n / k, rest = x.shape.dropFirst().map { 0..<$0 }
        let root = SeededGenerator(seed: seed)
        let clients = (0..<k).map { c -> ClientUpdate in
            var rng = root.derived("client-\(c)-defence")
            let xc = k == 1 ? x : x.narrowed([(c * per)..<((c + 1) * per)] + rest)
            return ClientUpdate.compute(kind, model: model, state: state, images: xc,
                                        labels: Array(labels[(c * per)..<((c + 1) * per)]), bn: bn, defence: defence, rng: &rng)
        }
        guard k > 1 else {
            return InterceptedRound(update: clients[0].update, kind: kind, clients: 1, batchSize: n,
                                    effects: [clients[0].effect], secureAggregation: nil)
        }
        let sa = SecureAggregation(clients: k, seed: root.derived("secagg").seed)
        let (sum, check) = sa.aggregate(clients.map(\.update))
        return InterceptedRound(update: sum.scaled(by: 1 / Float(k)), kind: kind, clients: k, batchSize: n,
                                effects: clients.map(\.effect), secureAggregation: check)
    }

    /// Safetensors metadata describing this update (never the images or labels).
    public func metadata(model: Model, bn: BNMode, defence: DefenceSpec) -> [String: String] {
        var m = kind.metadata
        m["format"] = "medpfl-update"
        m["model"] = model.name
        m["classes"] = "\(model.classes)"
        m["batch"] = "\(batchSize)"
        m["clients"] = "\(clients)"
        m["bn"] = bn.rawValue
        m["defence"] = defence.description
        if let e = effects.first?.epsilon { m["epsilon"] = "\(e)" }
        if let d = effects.first?.delta { m["delta"] = "\(d)" }
        return m
    }
}
