import Foundation
import FuzzSupport
import XCTest
@testable import Imaging

/// Seeded mutation fuzzing of the PNG decoder: thousands of damaged PNGs, each decoded or refused with an
/// `ImagingError`, never a crash (a trap would kill the test process) or a hang.
final class FuzzTests: XCTestCase {
    func testMutatedPNGsDecodeOrThrowNeverCrash() throws {
        let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")
        let seeds = try FileManager.default.contentsOfDirectory(atPath: fixtures.path).filter { $0.hasSuffix(".png") }.sorted()
            .compactMap { try? [UInt8](Data(contentsOf: fixtures.appendingPathComponent($0))) }.filter { $0.count > 8 }
        XCTAssertGreaterThan(seeds.count, 5)
        var m = Mutator(seed: 13)
        var decoded = 0, refused = 0
        let t0 = Date()
        for i in 0..<4000 {
            let input = m.bytes(seeds[i % seeds.count])
            let started = Date()
            do {
                let img = try RGBImage(pngData: input, name: "mutation \(i)")
                XCTAssertEqual(img.pixels.count, 3 * img.width * img.height)
                decoded += 1
            } catch is ImagingError {
                refused += 1
            } catch {
                XCTFail("mutation \(i) (seed 13): not an ImagingError: \(error)")
            }
            XCTAssertLessThan(Date().timeIntervalSince(started), 2, "mutation \(i) took too long")
        }
        XCTAssertGreaterThan(refused, 1000, "the mutations must damage most files")
        XCTAssertGreaterThan(decoded, 0, "and leave some decodable (a cut after the image data, a flipped ancillary bit)")
        XCTAssertEqual(decoded + refused, 4000)
        print("PNG fuzz: 4000 mutations, \(decoded) decoded, \(refused) refused, \(String(format: "%.1f", Date().timeIntervalSince(t0))) s")
    }
}
