import XCTest
@testable import Imaging
import Tensor

/// Every PNG colour type and bit depth decodes to the expected CHW values (like PIL's convert("RGB")).
final class PNGDecodeTests: XCTestCase {
    func testGray8() throws {
        let img = try Fixture.image("gray8.png")
        XCTAssertEqual(img.width, 3); XCTAssertEqual(img.height, 2)
        XCTAssertEqual(img.pixels, grayCHW([0, 128, 255, 1, 254, 77]))
    }

    func testGray16ScalesBy65535() throws {
        let img = try Fixture.image("gray16.png")
        XCTAssertEqual(img.pixels, grayCHW([0, 65535, 257, 1000, 32768, 65534], scale: 65535))
    }

    func testGray1BitExpandsToFullRange() throws {
        let img = try Fixture.image("gray1.png")
        XCTAssertEqual(img.width, 4)
        XCTAssertEqual(img.pixels, grayCHW([0, 255, 255, 0]))
    }

    func testGrayAlphaDropsAlpha() throws {
        XCTAssertEqual(try Fixture.image("gray_alpha8.png").pixels, grayCHW([10, 20, 30, 250]))
        XCTAssertEqual(try Fixture.image("gray_alpha16.png").pixels, grayCHW([65535, 4660], scale: 65535))
    }

    func testRGB() throws {
        XCTAssertEqual(try Fixture.image("rgb8.png").pixels, chw([(255, 0, 0), (0, 255, 0), (0, 0, 255), (12, 34, 56)]))
        XCTAssertEqual(try Fixture.image("rgb16.png").pixels, chw([(65535, 0, 1), (300, 40000, 65534)], scale: 65535))
    }

    func testRGBADropsAlphaWithoutCompositing() throws {
        XCTAssertEqual(try Fixture.image("rgba8.png").pixels,
                       chw([(255, 0, 0), (0, 255, 0), (0, 0, 255), (200, 100, 50)]))
    }

    func testPalette() throws {
        // 4-bit indices with a tRNS entry: transparency is dropped, colours kept.
        XCTAssertEqual(try Fixture.image("palette4.png").pixels, chw([(255, 0, 0), (0, 128, 255), (10, 20, 30)]))
        XCTAssertEqual(try Fixture.image("palette8.png").pixels,
                       chw([(200, 150, 100), (17, 34, 51), (255, 255, 255), (0, 0, 0)]))
    }

    /// A real sample decodes to exactly the golden tensor `x` (the PNG's 8-bit values / 255 in Float32).
    func testRealImageMatchesGoldenTensor() throws {
        let img = try Fixture.image("ultrasound_echo4c_f012.png")
        XCTAssertEqual(img.width, 32); XCTAssertEqual(img.height, 32)
        XCTAssertEqual(img.pixels, try Fixture.floats("echo4c_f012_x32.f32"))
    }

    func testLoadFromURLAndGradient() throws {
        let img = try RGBImage.load(Fixture.folder.appendingPathComponent("gradient16.png"))
        XCTAssertEqual(img.width, 16)
        XCTAssertEqual(img[0, 0, 3], Float(48) / 255)     // red = x * 16
        XCTAssertEqual(img[1, 5, 0], Float(80) / 255)     // green = y * 16
        XCTAssertEqual(img[2, 2, 3], Float(40) / 255)     // blue = (x + y) * 8
    }

    func testTensorRoundTrip() throws {
        let img = try Fixture.image("rgb8.png")
        let t = img.tensor()
        XCTAssertEqual(t.shape, [1, 3, 2, 2])
        XCTAssertEqual(t.scalars, img.pixels)
        XCTAssertEqual(RGBImage(tensor: t), img)
        let chwTensor = Tensor(shape: [3, 1, 2], data: [-1, 0.5, 2, .nan, 0.25, 1])
        let clamped = RGBImage(tensor: chwTensor)
        XCTAssertEqual(clamped.width, 2); XCTAssertEqual(clamped.height, 1)
        XCTAssertEqual(clamped.pixels, [0, 0.5, 1, 0, 0.25, 1])
    }
}
