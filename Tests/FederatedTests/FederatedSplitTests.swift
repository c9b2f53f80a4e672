import Foundation
import XCTest
import Tensor
@testable import Federated

final class FederatedSplitTests: XCTestCase {
    func testSameSeedSameSplitOtherSeedOtherSplit() throws {
        let d = Sample.small
        let a = try FederatedSplit.make(d, clients: 4, partition: .iid, seed: 7)
        let b = try FederatedSplit.make(d, clients: 4, partition: .iid, seed: 7)
        let c = try FederatedSplit.make(d, clients: 4, partition: .iid, seed: 8)
        XCTAssertEqual(a, b)
        XCTAssertNotEqual(a.clients, c.clients)
        let da = try FederatedSplit.make(d, clients: 4, partition: .dirichlet(alpha: 0.5), seed: 7)
        XCTAssertEqual(da, try FederatedSplit.make(d, clients: 4, partition: .dirichlet(alpha: 0.5), seed: 7))
    }

    /// On the real sample: no source on both sides, every image used once, about 3:1 where a class has
    /// several sources, single-source classes train only.
    func testBySourceSeparationOnTheBundledSample() throws {
        let d = Sample.small
        for seed: UInt64 in [1, 2, 3] {
            for partition in [Partition.iid, .dirichlet(alpha: 0.5)] {
                let s = try FederatedSplit.make(d, clients: 3, partition: partition, seed: seed)
                let train = s.trainIndices, test = s.testIndices
                XCTAssertEqual((train + test).sorted(), Array(0..<d.count), "every image exactly once")
                let trainSources = Set(train.map { d.sources[$0] }), testSources = Set(test.map { d.sources[$0] })
                XCTAssertTrue(trainSources.isDisjoint(with: testSources), "a source on both sides: \(trainSources.intersection(testSources))")
                XCTAssertEqual(s.trainOnlyClasses.map { d.classes[$0] }, ["fundus", "histology"])
                for c in d.classes.indices where !s.trainOnlyClasses.contains(c) {
                    let n = Double(d.labels.filter { $0 == c }.count)
                    let t = Double(test.filter { d.labels[$0] == c }.count)
                    XCTAssertGreaterThan(t, 0, "\(d.classes[c]) has no test image")
                    XCTAssertLessThanOrEqual(abs(t / n - 0.25), 0.2, "\(d.classes[c]): \(t) of \(n) tested")
                }
                for client in s.clients { XCTAssertTrue(Set(client.train).isDisjoint(with: client.test)) }
            }
        }
    }

    /// Without shared sources every image is its own source: the split is 3:1 per class, dealt evenly (IID).
    func testIIDIsBalancedAndThreeToOne() throws {
        let d = syntheticDataset(classes: 3, perClass: 40)
        let s = try FederatedSplit.make(d, clients: 4, partition: .iid, seed: 3)
        XCTAssertEqual(s.testIndices.count, 30)
        XCTAssertTrue(s.trainOnlyClasses.isEmpty)
        for c in s.clients {
            XCTAssertTrue((22...23).contains(c.train.count), "\(c.train.count)")
            XCTAssertTrue((7...8).contains(c.test.count), "\(c.test.count)")
        }
    }

    /// Sources of 5 images: each is whole on one side.
    func testGroupedSourcesStayTogether() throws {
        let d = syntheticDataset(classes: 2, perClass: 40, sharedSources: 5)
        let s = try FederatedSplit.make(d, clients: 2, partition: .iid, seed: 9)
        let testSources = Set(s.testIndices.map { d.sources[$0] })
        for src in testSources { XCTAssertEqual(s.testIndices.filter { d.sources[$0] == src }.count, 5) }
        XCTAssertEqual(s.testIndices.count, 20)      // 2 whole sources of 5 per class: exactly 25%
    }

    /// Smaller alpha, stronger label skew: the largest class share per client grows.
    func testDirichletSkew() throws {
        let d = syntheticDataset(classes: 6, perClass: 40)
        func meanTopShare(_ alpha: Double) throws -> Double {
            var total = 0.0, n = 0.0
            for seed: UInt64 in 1...5 {
                let s = try FederatedSplit.make(d, clients: 4, partition: .dirichlet(alpha: alpha), seed: seed)
                for c in s.clients where !c.train.isEmpty {
                    let counts = d.classes.indices.map { k in c.train.filter { d.labels[$0] == k }.count }
                    total += Double(counts.max()!) / Double(c.train.count); n += 1
                }
            }
            return total / n
        }
        let skewed = try meanTopShare(0.1), mild = try meanTopShare(1), flat = try meanTopShare(1000)
        XCTAssertGreaterThan(skewed, 0.6)
        XCTAssertGreaterThan(skewed, mild)
        XCTAssertGreaterThan(mild, flat)
        XCTAssertLessThan(flat, 0.3)                 // near 1/6 when shares are almost equal
        // Each client's train and test follow the same shares (3:1 within the client).
        let s = try FederatedSplit.make(d, clients: 3, partition: .dirichlet(alpha: 0.5), seed: 4)
        for c in s.clients where c.train.count > 20 {
            XCTAssertEqual(Double(c.test.count) / Double(c.train.count + c.test.count), 0.25, accuracy: 0.08)
        }
    }

    func testGammaAndDirichletMoments() {
        var rng = SeededGenerator(seed: 21)
        for shape in [0.3, 1.0, 4.5] {
            let xs = (0..<20_000).map { _ in rng.gamma(shape: shape) }
            let m = xs.reduce(0, +) / Double(xs.count)
            let v = xs.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(xs.count)
            XCTAssertEqual(m, shape, accuracy: 0.04 * shape + 0.01, "mean of Gamma(\(shape))")
            XCTAssertEqual(v, shape, accuracy: 0.08 * shape + 0.01, "variance of Gamma(\(shape))")
        }
        let p = rng.dirichlet([0.5, 0.5, 0.5])
        XCTAssertEqual(p.reduce(0, +), 1, accuracy: 1e-12)
        XCTAssertTrue(p.allSatisfy { $0 >= 0 })
    }

    func testPartitionParsing() throws {
        XCTAssertEqual(try Partition(parsing: "iid"), .iid)
        XCTAssertEqual(try Partition(parsing: "dirichlet:0.5"), .dirichlet(alpha: 0.5))
        XCTAssertEqual(try Partition(parsing: Partition.dirichlet(alpha: 0.25).description), .dirichlet(alpha: 0.25))
        for bad in ["", "dirichlet", "dirichlet:", "dirichlet:-1", "dirichlet:x", "skew:0.5"] {
            XCTAssertThrowsError(try Partition(parsing: bad), bad)
        }
        XCTAssertThrowsError(try FederatedSplit.make(syntheticDataset(classes: 2, perClass: 2), clients: 5, partition: .iid, seed: 1))
    }
}
