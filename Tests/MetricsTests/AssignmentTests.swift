import XCTest
@testable import Metrics

/// Hungarian matching against brute force.
final class AssignmentTests: XCTestCase {
    /// Deterministic generator (SplitMix64) so failures reproduce.
    struct SplitMix: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E3779B97F4A7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58476D1CE4E5B9
            z = (z ^ (z >> 27)) &* 0x94D049BB133111EB
            return z ^ (z >> 31)
        }
    }

    /// Best total over all injective maps of the smaller side into the larger.
    func bruteForce(_ s: [[Double]]) -> Double {
        let n = s.count, m = s[0].count
        var best = -Double.infinity
        var used = [Bool](repeating: false, count: max(n, m))
        func go(_ k: Int, _ total: Double) {
            if k == min(n, m) { best = max(best, total); return }
            for t in 0..<max(n, m) where !used[t] {
                used[t] = true
                go(k + 1, total + (n <= m ? s[k][t] : s[t][k]))
                used[t] = false
            }
        }
        go(0, 0)
        return best
    }

    func total(_ s: [[Double]], _ a: [Int]) -> Double {
        a.enumerated().reduce(0) { $0 + ($1.element >= 0 ? s[$1.offset][$1.element] : 0) }
    }

    func testMatchesBruteForceOnRandomMatrices() {
        var rng = SplitMix(state: 42)
        for trial in 0..<300 {
            let n = Int.random(in: 1...6, using: &rng), m = Int.random(in: 1...6, using: &rng)
            // Some trials use small integers so that ties occur.
            let s: [[Double]] = (0..<n).map { _ in (0..<m).map { _ in
                trial % 3 == 0 ? Double(Int.random(in: 0...3, using: &rng)) : Double.random(in: -1...1, using: &rng)
            } }
            let a = bestAssignment(s)
            XCTAssertEqual(a.count, n)
            let assigned = a.filter { $0 >= 0 }
            XCTAssertEqual(assigned.count, min(n, m), "\(s)")
            XCTAssertEqual(Set(assigned).count, assigned.count, "columns used twice: \(a)")
            XCTAssertTrue(assigned.allSatisfy { $0 < m })
            XCTAssertEqual(total(s, a), bruteForce(s), accuracy: 1e-9, "\(s)")
        }
    }

    func testKnownCasesAndEdges() {
        XCTAssertEqual(bestAssignment([[0.1, 0.9], [0.8, 0.2]]), [1, 0])
        XCTAssertEqual(bestAssignment([[0.5, 0.9, 0.1]]), [1])
        XCTAssertEqual(bestAssignment([[0.2], [0.7], [0.1]]), [-1, 0, -1])
        XCTAssertEqual(bestAssignment([]), [])
        XCTAssertEqual(bestAssignment([[], []]), [-1, -1])
        // A greedy choice (row 0 takes its best, 0.9) loses: 0.9 + 0.1 < 0.8 + 0.85.
        XCTAssertEqual(bestAssignment([[0.9, 0.8], [0.85, 0.1]]), [1, 0])
        // NaN is worse than anything finite; +infinity better.
        XCTAssertEqual(bestAssignment([[.nan, 0.1], [0.2, 0.3]]), [1, 0])
        XCTAssertEqual(bestAssignment([[0.5, .infinity], [0.4, 0.9]]), [1, 0])
    }
}
