import Foundation
import XCTest
@testable import Imaging

/// JPEG and TIFF through libjpeg-turbo and libtiff, against Pillow and tifffile
/// (`scripts/experiments/raster_fixtures.py`): every sample of every fixture within 1/255.
final class RasterDecodingTests: XCTestCase {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/raster")

    struct Page: Decodable {
        struct Values: Decodable { let scale: Double; let samples: [Int] }
        let page: Int, channels: Int, width: Int, height: Int
        let values: Values
    }

    func testEveryFixtureDecodesToTheReference() throws {
        let ref = try JSONDecoder().decode([String: [Page]].self, from: Data(contentsOf: Self.folder.appendingPathComponent("reference.json")))
        XCTAssertEqual(ref.count, 9)
        for (name, pages) in ref.sorted(by: { $0.key < $1.key }) {
            let path = Self.folder.appendingPathComponent(name).path
            XCTAssertEqual(try ImageReader.frameCount(path: path), pages.count, name)
            let decoded = try ImageReader.frames(path: path, options: ImageReadOptions(frames: .all))
            XCTAssertEqual(decoded.count, pages.count, name)
            for (p, f) in zip(pages, decoded) {
                XCTAssertEqual(f.channels, p.channels, name)
                XCTAssertEqual(f.width, p.width, name)
                XCTAssertEqual(f.height, p.height, name)
                let worst = zip(f.planes, p.values.samples).map { abs(Double($0) - Double($1) / p.values.scale) }.max() ?? 1
                // Pillow bundles libjpeg-turbo 3 where Debian has 2.1: the same integer IDCT, so JPEG samples agree
                // within one level; TIFF samples are exact.
                XCTAssertLessThanOrEqual(worst, name.hasSuffix(".jpg") ? 1.0 / 255 + 1e-6 : 1e-6, "\(name) page \(p.page)")
            }
        }
        // A 16-bit TIFF keeps its 16 bits (values that 8 bits could not hold).
        let ct = try ImageReader.frames(path: Self.folder.appendingPathComponent("ct-gray16.tif").path)[0]
        XCTAssertTrue(ct.planes.contains { v in let x = Double(v) * 255; return abs(x - x.rounded()) > 0.01 })
    }

    func testRefusalsAreOneLineNamingTheFile() {
        for (name, needle) in [("histology-cmyk.jpg", "CMYK JPEG is not read"), ("truncated.jpg", "corrupt or unreadable JPEG file"),
                               ("truncated.tif", "corrupt or unreadable TIFF file")] {
            let path = Self.folder.appendingPathComponent(name).path
            XCTAssertThrowsError(try ImageReader.frames(path: path)) { e in
                XCTAssertTrue("\(e)".contains(needle), "\(e)")
                XCTAssertTrue("\(e)".contains(path), "\(e)")
                XCTAssertFalse("\(e)".contains("\n"))
            }
        }
        XCTAssertThrowsError(try ImageReader.frames(path: Self.folder.appendingPathComponent("pages3.tif").path,
                                                    options: ImageReadOptions(frames: .index(3))))
    }
}
