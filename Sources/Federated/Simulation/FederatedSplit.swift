import Foundation
import Tensor

/// Which images each client trains and tests on.
///
/// Built in two stages, both seeded:
/// 1. **Train / test by source.** Within each class, whole sources (the scans the images were cut from)
///    go to the test side until it holds about `testFraction` of the class (3:1 by default, as in the
///    MedPFL paper): sources are taken in a seeded random order, each one only if it brings the test
///    count closer to the target (at least one source is always tested when the class has two or more).
///    Crops of one scan therefore never sit on both sides. A class whose images all come from one source
///    cannot be split that way: it stays on the train side and is listed in `trainOnlyClasses`.
/// 2. **Clients.** Each side is dealt to the clients the same way, so every client's own data is split
///    about 3:1: `iid` shuffles a side and deals it round-robin; `dirichlet(alpha)` draws, per class,
///    client shares p ~ Dir(alpha, ..., alpha) and cuts that class's train and test images by the same
///    shares (largest-remainder rounding).
public struct FederatedSplit: Sendable, Codable, Equatable {
    /// One client's images (indices into the data set, ascending).
    public struct Client: Sendable, Codable, Equatable {
        public var train: [Int]
        public var test: [Int]
    }

    public let clients: [Client]
    /// Labels of classes that have no test images because all their images share one source.
    public let trainOnlyClasses: [Int]
    public let partition: Partition
    public let testFraction: Double
    public let seed: UInt64

    /// Every training image (the union over clients), ascending.
    public var trainIndices: [Int] { clients.flatMap(\.train).sorted() }
    /// Every test image (the union of the clients' test sets), ascending.
    public var testIndices: [Int] { clients.flatMap(\.test).sorted() }

    /// Splits `dataset` over `clients` clients.
    /// - Throws: `SimulationError.invalid` for fewer than 1 client, a test fraction outside (0, 1), or more
    ///   clients than training images.
    public static func make(_ dataset: FederatedDataset, clients k: Int, partition: Partition,
                            testFraction: Double = 0.25, seed: UInt64) throws -> FederatedSplit {
        guard k >= 1 else { throw SimulationError.invalid("need at least 1 client, got \(k)") }
        guard testFraction > 0, testFraction < 1 else {
            throw SimulationError.invalid("the test fraction must be in (0, 1), got \(testFraction)")
        }
        var rng = SeededGenerator(seed: seed).derived("split")
        var trainByClass: [[Int]] = [], testByClass: [[Int]] = [], trainOnly: [Int] = []
        for c in dataset.classes.indices {
            let members = (0..<dataset.count).filter { dataset.labels[$0] == c }
            let (train, test) = splitBySource(members, sources: dataset.sources, fraction: testFraction, rng: &rng)
            if test.isEmpty && !members.isEmpty { trainOnly.append(c) }
            trainByClass.append(train)
            testByClass.append(test)
        }
        let totalTrain = trainByClass.reduce(0) { $0 + $1.count }
        guard totalTrain >= k else {
            throw SimulationError.invalid("\(k) clients but only \(totalTrain) training images")
        }
        var train = [[Int]](repeating: [], count: k), test = [[Int]](repeating: [], count: k)
        switch partition {
        case .iid:
            train = deal(trainByClass.flatMap { $0 }, to: k, rng: &rng)
            test = deal(testByClass.flatMap { $0 }, to: k, rng: &rng)
        case let .dirichlet(alpha):
            for c in dataset.classes.indices {
                let shares = rng.dirichlet([Double](repeating: alpha, count: k))
                for (client, part) in cut(trainByClass[c], shares: shares, rng: &rng).enumerated() { train[client] += part }
                for (client, part) in cut(testByClass[c], shares: shares, rng: &rng).enumerated() { test[client] += part }
            }
        }
        let list = (0..<k).map { Client(train: train[$0].sorted(), test: test[$0].sorted()) }
        return FederatedSplit(clients: list, trainOnlyClasses: trainOnly, partition: partition,
                              testFraction: testFraction, seed: seed)
    }

    /// One class's images split into (train, test) by whole sources.
    static func splitBySource(_ members: [Int], sources: [String], fraction: Double,
                              rng: inout SeededGenerator) -> (train: [Int], test: [Int]) {
        var order: [String] = [], groups: [String: [Int]] = [:]
        for i in members {
            if groups[sources[i]] == nil { order.append(sources[i]) }
            groups[sources[i], default: []].append(i)
        }
        guard order.count >= 2 else { return (members, []) }
        order.shuffle(using: &rng)
        let target = fraction * Double(members.count)
        var chosen = Set<String>(), size = 0
        for s in order {
            let n = groups[s]!.count
            if Swift.abs(Double(size + n) - target) < Swift.abs(Double(size) - target) {
                chosen.insert(s)
                size += n
            }
        }
        if chosen.isEmpty, let smallest = order.min(by: { groups[$0]!.count < groups[$1]!.count }) {
            chosen.insert(smallest)
        }
        let test = members.filter { chosen.contains(sources[$0]) }
        let train = members.filter { !chosen.contains(sources[$0]) }
        return (train, test)
    }

    /// A seeded shuffle of `items` dealt round-robin to `k` clients.
    static func deal(_ items: [Int], to k: Int, rng: inout SeededGenerator) -> [[Int]] {
        var shuffled = items
        shuffled.shuffle(using: &rng)
        var out = [[Int]](repeating: [], count: k)
        for (n, i) in shuffled.enumerated() { out[n % k].append(i) }
        return out
    }

    /// A seeded shuffle of `items` cut into consecutive parts whose sizes follow `shares`
    /// (largest-remainder rounding, ties to the lower client index).
    static func cut(_ items: [Int], shares: [Double], rng: inout SeededGenerator) -> [[Int]] {
        var shuffled = items
        shuffled.shuffle(using: &rng)
        let exact = shares.map { $0 * Double(items.count) }
        var sizes = exact.map { Int($0.rounded(.down)) }
        let order = exact.indices.sorted { (exact[$0] - Double(sizes[$0]), $1) > (exact[$1] - Double(sizes[$1]), $0) }
        for j in 0..<(items.count - sizes.reduce(0, +)) { sizes[order[j % order.count]] += 1 }
        var out: [[Int]] = [], start = 0
        for s in sizes {
            out.append(Array(shuffled[start..<(start + s)]))
            start += s
        }
        return out
    }
}
