import Foundation
import NN

/// How a client trains in one round.
public enum LocalAlgorithm: Sendable, Hashable, Codable, CustomStringConvertible {
    /// FedSGD: one gradient on one batch of `batchSize` images drawn from the client's training data;
    /// the server steps `w <- w - lr * weighted mean of the gradients`.
    case fedSGD
    /// FedAvg: `steps` local SGD steps on minibatches of `batchSize` (successive seeded shuffles of the
    /// client's training data); the client sends `w_0 - w_S` and the server steps `w <- w - weighted mean`.
    case fedAvgSteps(Int)
    /// FedAvg with `epochs` passes over the client's training data per round (the last batch of a pass may
    /// be smaller).
    case fedAvgEpochs(Int)

    public var description: String {
        switch self {
        case .fedSGD: return "FedSGD"
        case let .fedAvgSteps(s): return "FedAvg, \(s) local step\(s == 1 ? "" : "s")"
        case let .fedAvgEpochs(e): return "FedAvg, \(e) local epoch\(e == 1 ? "" : "s")"
        }
    }
}

/// Everything a federated training run needs besides the data, the defence and the seed.
public struct TrainingConfig: Sendable {
    /// The architecture.
    public var model: Model
    /// The global weights at round 0 (the server's initial model).
    public var initialState: ModelState
    /// Number of clients (all take part in every round).
    public var clients: Int
    /// Number of rounds.
    public var rounds: Int
    public var algorithm: LocalAlgorithm
    /// Local SGD learning rate (FedAvg) or the server's step size (FedSGD).
    public var learningRate: Double
    /// Minibatch size of local training.
    public var batchSize: Int
    /// How images are dealt to clients.
    public var partition: Partition
    /// Fraction of each class held out for testing (by source).
    public var testFraction: Double
    /// Batch-norm mode of local training (evaluation always uses the running statistics).
    public var bn: BNMode
    /// Clients trained side by side (default: all cores).
    public var jobs: Int?
    /// Op threads per client (default: the cores over `jobs`).
    public var threads: Int?

    public init(model: Model, initialState: ModelState, clients: Int = 4, rounds: Int = 20,
                algorithm: LocalAlgorithm = .fedAvgSteps(5), learningRate: Double = 0.1, batchSize: Int = 8,
                partition: Partition = .iid, testFraction: Double = 0.25, bn: BNMode = .train, jobs: Int? = nil, threads: Int? = nil) {
        self.model = model
        self.initialState = initialState
        self.clients = clients
        self.rounds = rounds
        self.algorithm = algorithm
        self.learningRate = learningRate
        self.batchSize = batchSize
        self.partition = partition
        self.testFraction = testFraction
        self.bn = bn
        self.jobs = jobs
        self.threads = threads
    }

    /// Checks every setting against the data set and the defence; one line per problem found first.
    public func validate(dataset: FederatedDataset, defence: DefenceSpec) throws {
        func fail(_ s: String) throws -> Never { throw SimulationError.invalid(s) }
        if clients < 1 { try fail("need at least 1 client, got \(clients)") }
        if rounds < 1 { try fail("need at least 1 round, got \(rounds)") }
        if batchSize < 1 { try fail("the batch size must be at least 1, got \(batchSize)") }
        if !(learningRate > 0 && learningRate.isFinite) { try fail("the learning rate must be positive, got \(learningRate)") }
        switch algorithm {
        case .fedSGD: break
        case let .fedAvgSteps(s): if s < 1 { try fail("FedAvg needs at least 1 local step, got \(s)") }
        case let .fedAvgEpochs(e): if e < 1 { try fail("FedAvg needs at least 1 local epoch, got \(e)") }
        }
        if dataset.classes.count != model.classes {
            try fail("the data set has \(dataset.classes.count) classes (\(dataset.classes.joined(separator: ", "))) "
                     + "but model \(model.name) has \(model.classes) outputs")
        }
        if dataset.imageShape != model.inputShape {
            try fail("the images are \(dataset.imageShape) but model \(model.name) takes \(model.inputShape)")
        }
        if let k = defence.secureAggregationClients, k > clients {
            try fail("secure aggregation over \(k) clients needs at least \(k) clients, got \(clients)")
        }
    }
}
