import XCTest
@testable import Tensor

/// Every op cut into pieces on the op threads must give the same bits at 1, 2 and 3 threads, and the
/// pieces must add up to the right values (checked against plain loops in Double).
final class OpThreadsTests: XCTestCase {
    private func bits(_ t: Tensor) -> [UInt32] { t.scalars.map(\.bitPattern) }

    /// Runs `body` at 1, 2 and 3 threads and asserts the results are bit-identical; returns the 1-thread one.
    @discardableResult
    private func sameAtEveryThreadCount(_ what: String, _ body: () -> Tensor) -> Tensor {
        let one = OpThreads.with(threads: 1, body)
        for t in [2, 3] {
            let other = OpThreads.with(threads: t, body)
            XCTAssertEqual(one.shape, other.shape, what)
            XCTAssertTrue(bits(one) == bits(other), "\(what): \(t) threads differ from 1 thread")
        }
        return one
    }

    func testPartitionDependsOnShapeOnly() {
        XCTAssertEqual(OpThreads.parts(size: 1000, work: 1000, minWork: 1 << 20, minPiece: 1), 1)
        XCTAssertEqual(OpThreads.parts(size: 3136, work: 1 << 24, minWork: 1 << 22, minPiece: 128), 16)
        XCTAssertEqual(OpThreads.parts(size: 1024, work: 1 << 24, minWork: 1 << 22, minPiece: 128), 8)
        XCTAssertEqual(OpThreads.parts(size: 255, work: 1 << 24, minWork: 1 << 22, minPiece: 128), 1)
        // The ranges tile 0..<size exactly, on multiples of the alignment.
        for (size, parts) in [(3136, 8), (100, 16), (49, 4), (4608, 16)] {
            var covered = 0
            for i in 0..<parts {
                let r = OpThreads.range(i, of: parts, size: size, align: 16)
                if !r.isEmpty { XCTAssertEqual(r.lowerBound, covered); XCTAssertTrue(r.lowerBound % 16 == 0) }
                covered = max(covered, r.upperBound)
            }
            XCTAssertEqual(covered, size)
        }
    }

    func testMatmulSplitIsExactAndThreadInvariant() {
        var rng = SeededGenerator(seed: 11)
        // Column split (n >= m), row split (m > n), both transposes, a batched product.
        let cases: [([Int], [Int], Bool, Bool)] = [([64, 576], [576, 1024], false, false), ([1024, 300], [300, 96], false, false),
                                                   ([576, 200], [576, 700], true, false), ([300, 256], [900, 256], false, true)]
        for (sa, sb, ta, tb) in cases {
            let a = Tensor.randn(sa, using: &rng), b = Tensor.randn(sb, using: &rng)
            let c = sameAtEveryThreadCount("matmul \(sa) x \(sb)") { matmul(a, b, transposeA: ta, transposeB: tb) }
            // Spot-check entries against a Double dot product.
            let m = ta ? sa[1] : sa[0], k = ta ? sa[0] : sa[1], n = tb ? sb[0] : sb[1]
            let av = a.scalars, bv = b.scalars, cv = c.scalars
            for (i, j) in [(0, 0), (m - 1, n - 1), (m / 2, n / 3), (m - 1, 0), (3, n - 17)] {
                var ref = 0.0
                for p in 0..<k {
                    let x = ta ? av[p * m + i] : av[i * k + p], y = tb ? bv[j * k + p] : bv[p * n + j]
                    ref += Double(x) * Double(y)
                }
                XCTAssertEqual(Double(cv[i * n + j]), ref, accuracy: 1e-3 * max(1, abs(ref)), "matmul \(sa) x \(sb) at \(i),\(j)")
            }
        }
        let a3 = Tensor.randn([32, 1, 9], using: &rng), b3 = Tensor.randn([32, 9, 3136], using: &rng)
        sameAtEveryThreadCount("batched matmul") { matmul(a3, b3) }
    }

    func testConvolutionsAndTheirGradientsAreThreadInvariant() {
        var rng = SeededGenerator(seed: 12)
        let x = Tensor.randn([2, 16, 40, 40], using: &rng)
        for (w, stride, pad, groups) in [(Tensor.randn([32, 16, 3, 3], using: &rng), 1, 1, 1), (Tensor.randn([32, 16, 3, 3], using: &rng), 2, 1, 1),
                                          (Tensor.randn([16, 1, 3, 3], using: &rng), 1, 1, 16), (Tensor.randn([64, 16, 1, 1], using: &rng), 1, 0, 1)] {
            let what = "conv \(w.shape) stride \(stride) groups \(groups)"
            sameAtEveryThreadCount(what) { conv2d(x, weight: w, stride: stride, padding: pad, groups: groups) }
            // Input and weight gradients with their graph, then a second-order product.
            for wrt in 0..<2 {
                sameAtEveryThreadCount(what + " d/d\(wrt == 0 ? "x" : "w")") {
                    let xv = x.detached(requiresGrad: true), wv = w.detached(requiresGrad: true)
                    let y = conv2d(xv, weight: wv, stride: stride, padding: pad, groups: groups)
                    let l = (y * y).sum()
                    let g = grad(of: l, wrt: [xv, wv], createGraph: true)
                    let second = grad(of: (g[wrt] * g[wrt]).sum(), wrt: [wrt == 0 ? wv : xv])[0]
                    return second
                }
            }
        }
    }

    func testElementwiseBroadcastAndReductionsAreThreadInvariantAndRight() {
        var rng = SeededGenerator(seed: 13)
        let a = Tensor.randn([4, 64, 30, 30], using: &rng), b = Tensor.randn([4, 64, 30, 30], using: &rng)
        let bias = Tensor.randn([1, 64, 1, 1], using: &rng), row = Tensor.randn([30], using: &rng)
        sameAtEveryThreadCount("add") { a + b }
        sameAtEveryThreadCount("mul broadcast channel") { a * bias }
        sameAtEveryThreadCount("sub broadcast row") { a - row }
        sameAtEveryThreadCount("relu") { a.relu() }
        sameAtEveryThreadCount("expand") { bias.expand(to: a.shape) }
        let channelBias = Tensor.randn([64], using: &rng)
        sameAtEveryThreadCount("channel bias") { a.addingChannelBias(channelBias) }
        let chan = sameAtEveryThreadCount("sum to channels") { a.sum(to: [1, 64, 1, 1]) }
        let lastAxis = sameAtEveryThreadCount("sum to last axis") { a.sum(to: [30]) }
        let total = sameAtEveryThreadCount("dot") { dot(a, b) }
        sameAtEveryThreadCount("dotAndSquaredNorm") { dotAndSquaredNorm(a, b) }
        sameAtEveryThreadCount("linearCombination") { linearCombination(a, Tensor(0.25), b, Tensor(-3)) }
        sameAtEveryThreadCount("channelSum") { a.channelSum() }
        sameAtEveryThreadCount("max pool 3x3/2") { a.maxPool2d(kernel: 3, stride: 2, padding: 1) }
        sameAtEveryThreadCount("max pool gradient") {
            let x = a.detached(requiresGrad: true)
            return grad(of: (x.maxPool2d(kernel: 3, stride: 2, padding: 1) * 2).sum(), wrt: [x])[0]
        }
        // The pieces add up to the right values.
        let av = a.scalars, bv = b.scalars
        for c in [0, 31, 63] {
            var ref = 0.0
            for n in 0..<4 { for i in 0..<900 { ref += Double(av[(n * 64 + c) * 900 + i]) } }
            XCTAssertEqual(Double(chan.scalars[c]), ref, accuracy: 1e-3, "sum to channel \(c)")
        }
        var refLast = 0.0
        for i in stride(from: 7, to: av.count, by: 30) { refLast += Double(av[i]) }
        XCTAssertEqual(Double(lastAxis.scalars[7]), refLast, accuracy: 1e-2)
        let refDot = zip(av, bv).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
        XCTAssertEqual(Double(total.scalar), refDot, accuracy: 1e-2)
    }

    func testBudgetHandsIdleCoresToTheLastJobs() {
        let budget = OpThreads.Budget(workers: 4, threads: 1)
        let s1 = budget.begin(waiting: 5), s2 = budget.begin(waiting: 4)
        XCTAssertEqual([s1.threads, s2.threads], [1, 1], "jobs wait: one thread each")
        let s3 = budget.begin(waiting: 0)
        XCTAssertEqual([s1, s2, s3].map(\.threads).reduce(0, +), 4, "none wait: the 4 cores are shared by the 3 running")
        budget.end(s1, waiting: 0); budget.end(s2, waiting: 0)
        XCTAssertEqual(s3.threads, 4, "the last job gets every core")
        XCTAssertEqual(OpThreads.current, 1)
        OpThreads.with(s3) { XCTAssertEqual(OpThreads.current, 4) }
        XCTAssertEqual(OpThreads.current, 1)
    }
}
