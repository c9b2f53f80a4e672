import Foundation

/// The assignment of rows to columns that maximises the total score (Hungarian algorithm, O(n^2 m)).
///
/// Used to pair the reconstructions of a batch (rows) with the originals (columns) before scoring,
/// since gradient-leakage attacks recover a batch in arbitrary order.
///
/// - Parameter score: `rows x cols` matrix (every row the same length); rectangular is fine.
/// - Returns: for each row, the column assigned to it, or -1 when there are more rows than columns and
///   the row is left unmatched. Every column is used at most once and `min(rows, cols)` pairs are made.
///   NaN and -infinity count as worse than every finite score, +infinity as better.
public func bestAssignment(_ score: [[Double]]) -> [Int] {
    let rows = score.count
    guard rows > 0 else { return [] }
    let cols = score[0].count
    precondition(score.allSatisfy { $0.count == cols }, "bestAssignment: rows of different lengths")
    guard cols > 0 else { return [Int](repeating: -1, count: rows) }

    // Costs to minimise, with non-finite scores replaced by values beyond the finite range.
    let finite = score.joined().filter { $0.isFinite }
    let lo = finite.min() ?? 0, hi = finite.max() ?? 0
    let span = hi - lo + 1
    func cost(_ s: Double) -> Double {
        if s.isNaN || s == -.infinity { return -(lo - span) }
        if s == .infinity { return -(hi + span) }
        return -s
    }
    if rows <= cols {
        let c = score.map { $0.map(cost) }
        return minimumCostAssignment(c, n: rows, m: cols)
    }
    // More rows than columns: assign each column a row on the transposed matrix.
    let t = (0..<cols).map { j in (0..<rows).map { i in cost(score[i][j]) } }
    let colToRow = minimumCostAssignment(t, n: cols, m: rows)
    var result = [Int](repeating: -1, count: rows)
    for (j, i) in colToRow.enumerated() { result[i] = j }
    return result
}

/// Minimum-cost assignment of each of `n` rows to a distinct one of `m >= n` columns
/// (shortest augmenting paths with potentials). Returns the column of each row.
func minimumCostAssignment(_ a: [[Double]], n: Int, m: Int) -> [Int] {
    var u = [Double](repeating: 0, count: n + 1)     // row potentials (1-based)
    var v = [Double](repeating: 0, count: m + 1)     // column potentials (1-based, 0 is a sentinel)
    var p = [Int](repeating: 0, count: m + 1)        // p[j]: row matched to column j (0 = none)
    var way = [Int](repeating: 0, count: m + 1)      // previous column on the augmenting path
    for i in 1...n {
        p[0] = i
        var j0 = 0
        var minv = [Double](repeating: .infinity, count: m + 1)
        var used = [Bool](repeating: false, count: m + 1)
        repeat {
            used[j0] = true
            let i0 = p[j0]
            var delta = Double.infinity
            var j1 = 0
            for j in 1...m where !used[j] {
                let cur = a[i0 - 1][j - 1] - u[i0] - v[j]
                if cur < minv[j] { minv[j] = cur; way[j] = j0 }
                if minv[j] < delta { delta = minv[j]; j1 = j }
            }
            for j in 0...m {
                if used[j] { u[p[j]] += delta; v[j] -= delta } else { minv[j] -= delta }
            }
            j0 = j1
        } while p[j0] != 0
        repeat {
            let j1 = way[j0]
            p[j0] = p[j1]
            j0 = j1
        } while j0 != 0
    }
    var assignment = [Int](repeating: -1, count: n)
    for j in 1...m where p[j] != 0 { assignment[p[j] - 1] = j - 1 }
    return assignment
}
