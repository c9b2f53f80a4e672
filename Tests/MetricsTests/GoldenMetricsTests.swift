import XCTest
import Imaging
import Tensor
@testable import Metrics

/// MSE, PSNR and SSIM against scikit-image on every pair of the golden set (Fixtures/metrics.json).
final class GoldenMetricsTests: XCTestCase {
    struct Pair: Decodable {
        let reference: String, candidate: String, variant: String, source: String
        let mse: Double, psnr: Double, ssim: Double
    }

    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

    func pairs() throws -> [Pair] {
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(
            positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        // Python writes the bare token Infinity; quote it so the decoder's string strategy applies.
        var text = try String(contentsOf: Self.fixtures.appendingPathComponent("metrics.json"), encoding: .utf8)
        text = text.replacingOccurrences(of: ": Infinity", with: ": \"Infinity\"")
        return try decoder.decode([Pair].self, from: Data(text.utf8))
    }

    func load(_ rel: String) throws -> RGBImage {
        try RGBImage(path: Self.fixtures.appendingPathComponent(rel).path)
    }

    func testEveryGoldenPair() throws {
        let all = try pairs()
        XCTAssertEqual(all.count, 54)
        var worstSSIM = 0.0
        for p in all {
            let a = try load(p.reference), b = try load(p.candidate)
            let s = ssim(a.pixels, b.pixels, channels: 3, height: a.height, width: a.width)
            worstSSIM = max(worstSSIM, abs(s - p.ssim))
            XCTAssertEqual(s, p.ssim, accuracy: 1e-4, "\(p.reference) ssim")
            let e = mse(a.pixels, b.pixels)
            XCTAssertEqual(e, p.mse, accuracy: 1e-6 * max(p.mse, 1e-3), "\(p.reference) mse")
            let q = psnr(a.pixels, b.pixels)
            if p.psnr.isInfinite {
                XCTAssertEqual(q, .infinity, p.reference)
            } else {
                XCTAssertEqual(q, p.psnr, accuracy: 1e-4, "\(p.reference) psnr")
            }
            // The Tensor overloads give the same values for [1,3,H,W] and [3,H,W].
            let ta = a.tensor(), tb = Tensor(shape: [3, b.height, b.width], data: b.pixels)
            XCTAssertEqual(ssim(ta, tb), s)
            XCTAssertEqual(mse(ta, tb), e)
        }
        XCTAssertLessThan(worstSSIM, 1e-6, "worst SSIM difference")
        print("worst |SSIM - skimage| over \(all.count) golden pairs: \(worstSSIM)")
    }

    /// skimage's default window (7x7 uniform, sample covariance); reference values from scipy's
    /// uniform_filter with the skimage formula (that code reproduces every Gaussian golden value exactly).
    func testUniformWindowMatchesSkimageDefault() throws {
        let expected: [String: Double] = [
            "metrics/pair00-noise0.1-ref.png": 0.38071562352610316,
            "metrics/pair00-blur-ref.png": 0.9239372420734137,
            "metrics/pair03-shift-ref.png": 0.18593762995850535,
            "metrics/pair03-other-ref.png": 0.1123424519628405,
        ]
        for p in try pairs() {
            guard let value = expected[p.reference] else { continue }
            let a = try load(p.reference), b = try load(p.candidate)
            XCTAssertEqual(ssim(a.tensor(), b.tensor(), window: .uniform7), value, accuracy: 1e-6, p.reference)
        }
    }

    func testClampingAndNaN() {
        // Out-of-range values are clamped before any metric: these two images are identical once clamped.
        let n = 3 * 12 * 12
        let a = (0..<n).map { Float($0 % 7) / 6 }
        var b = a
        for i in stride(from: 0, to: n, by: 5) { b[i] = a[i] == 0 ? -3 : (a[i] == 1 ? 4 : a[i]) }
        XCTAssertEqual(mse(a, b), 0)
        XCTAssertEqual(psnr(a, b), .infinity)
        XCTAssertEqual(ssim(a, b, channels: 3, height: 12, width: 12), 1, accuracy: 1e-12)
        // NaN counts as 0.
        let zeros = [Float](repeating: 0, count: n)
        XCTAssertEqual(mse([Float](repeating: .nan, count: n), zeros), 0)
        XCTAssertEqual(psnr(mse: 0.01), 20, accuracy: 1e-12)
    }
}
