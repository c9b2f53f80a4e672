import XCTest
@testable import Imaging

/// Area averaging, PyTorch bilinear, centre crop, fit.
final class ResizeTests: XCTestCase {
    /// One-channel-looking image: the same plane in R, G and B.
    func plane(_ w: Int, _ h: Int, _ values: [Float]) -> RGBImage {
        RGBImage(width: w, height: h, pixels: values + values + values)
    }

    func testAreaIntegerFactorGivesBlockMeans() throws {
        let img = try Fixture.image("ultrasound_echo4c_f012.png")
        for factor in [2, 4, 8] {
            let small = img.resized(width: 32 / factor, height: 32 / factor, method: .area)
            let n = 32 / factor
            var expected = [Float]()
            for c in 0..<3 {
                for by in 0..<n {
                    for bx in 0..<n {
                        var sum = 0.0
                        for y in 0..<factor { for x in 0..<factor { sum += Double(img[c, by * factor + y, bx * factor + x]) } }
                        expected.append(Float(sum / Double(factor * factor)))
                    }
                }
            }
            assertClose(small.pixels, expected, tolerance: 1e-6, "factor \(factor)")
        }
    }

    func testAreaNonIntegerFactorWeighsPartialPixels() {
        // 3 -> 2 horizontally: out0 = (x0 + x1/2) / 1.5, out1 = (x1/2 + x2) / 1.5.
        let img = plane(3, 1, [0.3, 0.6, 0.9])
        let out = img.resized(width: 2, height: 1, method: .area)
        assertClose(out.pixels, [0.4, 0.8, 0.4, 0.8, 0.4, 0.8], tolerance: 1e-6)
        // 2 -> 3 (enlarging) uses the same overlap rule: [x0, (x0+x1)/2, x1].
        let up = plane(2, 1, [0.2, 0.8]).resized(width: 3, height: 1, method: .area)
        assertClose(Array(up.pixels.prefix(3)), [0.2, 0.5, 0.8], tolerance: 1e-6)
    }

    func testBilinearUpsamplingHandComputed() {
        // PyTorch F.interpolate([[0,1],[2,3]] / 4, size=(4,4), mode="bilinear", align_corners=False).
        let img = plane(2, 2, [0, 0.25, 0.5, 0.75])
        let out = img.resized(width: 4, height: 4, method: .interpolate)
        let expected: [Float] = [0, 0.25, 0.75, 1, 0.5, 0.75, 1.25, 1.5, 1.5, 1.75, 2.25, 2.5, 2, 2.25, 2.75, 3].map { $0 / 4 }
        assertClose(Array(out.pixels.prefix(16)), expected, tolerance: 1e-6)
    }

    func testBilinearDownsamplingHasNoAntialias() {
        // 5 -> 3: sources 1/3, 2, 11/3 -> [2/3 x0 + 1/3 x1, x2, 1/3 x3 + 2/3 x4].
        let img = plane(5, 1, [0.0, 0.3, 0.5, 0.6, 0.9])
        let out = img.resized(width: 3, height: 1, method: .interpolate)
        assertClose(Array(out.pixels.prefix(3)), [0.1, 0.5, 0.8], tolerance: 1e-6)
    }

    /// The golden resnet18 input is this PNG upsampled 32 -> 64 by PyTorch's bilinear interpolation.
    func testBilinearMatchesPyTorchGolden() throws {
        let img = try Fixture.image("ultrasound_echo4c_f012.png")
        let up = img.resized(width: 64, height: 64, method: .interpolate)
        assertClose(up.pixels, try Fixture.floats("echo4c_f012_bilinear64.f32"), tolerance: 1e-6)
    }

    func testCenterCropRoundsHalfToEven() {
        // 5x4 -> 2x2: top = round(1.0) = 1, left = round(1.5) = 2.
        let img = plane(5, 4, (0..<20).map { Float($0) / 20 })
        let crop = img.centerCropped(width: 2, height: 2)
        XCTAssertEqual(Array(crop.pixels.prefix(4)), [7, 8, 12, 13].map { Float($0) / 20 })
        // 7x7 -> 4x4: offset round(1.5) = 2.
        let crop2 = plane(7, 7, (0..<49).map { Float($0) / 49 }).centerCropped(width: 4, height: 4)
        XCTAssertEqual(crop2.pixels[0], Float(2 * 7 + 2) / 49)
    }

    func testFittedResizesShorterSideThenCrops() {
        let img = plane(64, 48, (0..<(64 * 48)).map { Float($0 % 64) / 64 })
        let fit = img.fitted(size: 32)
        XCTAssertEqual(fit.width, 32); XCTAssertEqual(fit.height, 32)
        // 64x48 -> 42x32 (int(32 * 64 / 48)), then columns 5..<37 of the resized image.
        let expected = img.resized(width: 42, height: 32).centerCropped(width: 32, height: 32)
        XCTAssertEqual(fit, expected)
        let square = plane(4, 4, [Float](repeating: 0.5, count: 16))
        XCTAssertEqual(square.fitted(size: 4), square)
        XCTAssertEqual(square.fitted(size: 2, method: .interpolate).width, 2)
    }

    func testSameSizeIsIdentity() throws {
        let img = try Fixture.image("rgb8.png")
        for m in ResizeMethod.allCases { XCTAssertEqual(img.resized(width: 2, height: 2, method: m), img) }
    }
}
