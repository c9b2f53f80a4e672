import XCTest
@testable import Imaging

/// Writing: 8-bit RGB, nearest rounding, owner-only permissions.
final class PNGWriteTests: XCTestCase {
    func permissions(_ path: String) throws -> Int {
        (try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? NSNumber)?.intValue ?? -1
    }

    func testEightBitImageRoundTripsExactly() throws {
        let dir = try Fixture.temporaryFolder(self)
        let img = try Fixture.image("ultrasound_echo4c_f012.png")
        let out = dir.appendingPathComponent("copy.png").path
        try img.writePNG(to: out)
        XCTAssertEqual(try RGBImage(path: out), img)
        XCTAssertEqual(try permissions(out), 0o600)
    }

    func testValuesAreClampedAndRoundedToNearest() throws {
        let dir = try Fixture.temporaryFolder(self)
        // One row of 4 pixels; red carries the interesting values.
        let red: [Float] = [-0.5, 1.5, .nan, 0.5]                 // 0.5 * 255 = 127.5 rounds up to 128
        let green: [Float] = [0.2, 0.4, 0.6, 0.8]
        let blue: [Float] = [100.4 / 255, 100.6 / 255, 1, 0]
        let img = RGBImage(width: 4, height: 1, pixels: red + green + blue)
        let out = dir.appendingPathComponent("round.png").path
        try img.writePNG(to: out)
        let back = try RGBImage(path: out)
        let expected: [Int] = [0, 255, 0, 128, 51, 102, 153, 204, 100, 101, 255, 0]
        XCTAssertEqual(back.pixels, expected.map { Float($0) / 255 })
        XCTAssertEqual(img.rgb8(), [0, 51, 100, 255, 102, 101, 0, 153, 255, 128, 204, 0])
    }

    func testRandomImageRoundTripsWithinHalfStep() throws {
        let dir = try Fixture.temporaryFolder(self)
        var rng = SystemRandomNumberGenerator()
        let values = (0..<(3 * 7 * 5)).map { _ in Float.random(in: 0...1, using: &rng) }
        let img = RGBImage(width: 7, height: 5, pixels: values)
        let out = dir.appendingPathComponent("random.png").path
        try img.writePNG(to: out)
        assertClose(try RGBImage(path: out).pixels, values, tolerance: 0.5 / 255 + 1e-6)
    }

    func testExistingFileIsOverwrittenAndMadeOwnerOnly() throws {
        let dir = try Fixture.temporaryFolder(self)
        let out = dir.appendingPathComponent("old.png").path
        XCTAssertTrue(FileManager.default.createFile(atPath: out, contents: Data("old".utf8),
                                                     attributes: [.posixPermissions: 0o644]))
        XCTAssertEqual(try permissions(out), 0o644)
        try RGBImage(width: 2, height: 2, repeating: 0.5).writePNG(to: out)
        XCTAssertEqual(try permissions(out), 0o600)
        XCTAssertEqual(try RGBImage(path: out).pixels, [Float](repeating: 128.0 / 255, count: 12))
    }

    func testWriteIntoMissingFolderThrows() throws {
        let dir = try Fixture.temporaryFolder(self)
        let out = dir.appendingPathComponent("no/such/folder/x.png").path
        XCTAssertThrowsError(try RGBImage(width: 1, height: 1, repeating: 0).writePNG(to: out)) { error in
            guard case ImagingError.writeFailed(let path, _) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(path, out)
            XCTAssertTrue("\(error)".contains(out))
        }
    }
}
