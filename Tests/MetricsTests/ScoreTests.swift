import XCTest
import Tensor
@testable import Metrics

/// Per-image scores and the attack success rate.
final class ScoreTests: XCTestCase {
    func image(_ seed: Int) -> [Float] {
        (0..<(3 * 16 * 16)).map { i in Float((i * 37 + seed * 11) % 101) / 100 }
    }

    func testIdenticalImagesAreASuccess() {
        let a = image(1)
        let s = score(reference: a, candidate: a, channels: 3, height: 16, width: 16)
        XCTAssertEqual(s.mse, 0)
        XCTAssertEqual(s.psnr, .infinity)
        XCTAssertEqual(s.ssim, 1, accuracy: 1e-12)
        XCTAssertTrue(s.success)
    }

    func testThresholdAndTensorOverload() {
        let a = image(1), b = image(2)
        let t = score(reference: Tensor(shape: [1, 3, 16, 16], data: a), candidate: Tensor(shape: [3, 16, 16], data: b))
        XCTAssertEqual(t.mse, mse(a, b))
        XCTAssertEqual(t.psnr, psnr(a, b))
        XCTAssertEqual(t.ssim, ssim(a, b, channels: 3, height: 16, width: 16))
        XCTAssertEqual(t.success, t.ssim >= 0.9)
        let lenient = score(reference: a, candidate: b, channels: 3, height: 16, width: 16, threshold: t.ssim)
        XCTAssertTrue(lenient.success)                    // ssim >= threshold counts
    }

    func testCodableKeepsInfinitePSNRWithDefaultCoders() throws {
        let scores = [ReconstructionScore(mse: 0, psnr: .infinity, ssim: 1, success: true),
                      ReconstructionScore(mse: 0.01, psnr: 20, ssim: 0.5, success: false)]
        let data = try JSONEncoder().encode(scores)
        XCTAssertTrue(String(decoding: data, as: UTF8.self).contains("\"psnr\":null"))
        XCTAssertEqual(try JSONDecoder().decode([ReconstructionScore].self, from: data), scores)
    }

    func testAttackSuccessRate() {
        let ok = ReconstructionScore(mse: 0, psnr: .infinity, ssim: 0.95, success: true)
        let bad = ReconstructionScore(mse: 0.1, psnr: 10, ssim: 0.3, success: false)
        XCTAssertEqual(attackSuccessRate([ok, bad, ok, ok]), 0.75)
        XCTAssertEqual(attackSuccessRate([]), 0)
    }
}
