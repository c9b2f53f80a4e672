import Foundation
import FuzzSupport
import XCTest
@testable import Imaging

/// Seeded mutation fuzzing of the PNG decoder: thousands of damaged PNGs, each decoded or refused with an
/// `ImagingError`, never a crash (a trap would kill the test process) or a hang.
final class FuzzTests: XCTestCase {
    func testMutatedPNGsDecodeOrThrowNeverCrash() throws {
        let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")
        var seeds = try FileManager.default.contentsOfDirectory(atPath: fixtures.path).filter { $0.hasSuffix(".png") }.sorted()
            .compactMap { try? [UInt8](Data(contentsOf: fixtures.appendingPathComponent($0))) }.filter { $0.count > 8 }
        // And one real 32-px image of each modality (larger IDAT streams than the synthetic fixtures).
        let real = fixtures.appendingPathComponent("../../../data/medical-sample/32").standardized
        for c in try FileManager.default.contentsOfDirectory(atPath: real.path).sorted() {
            let dir = real.appendingPathComponent(c)
            if let f = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter({ $0.hasSuffix(".png") }).sorted().first {
                seeds.append([UInt8](try Data(contentsOf: dir.appendingPathComponent(f))))
            }
        }
        XCTAssertGreaterThan(seeds.count, 5)
        var m = Mutator(seed: 13)
        var decoded = 0, refused = 0, deep = 0
        let t0 = Date()
        let n = Mutator.iterations(4000)
        for i in 0..<n {
            // Half the mutations get their chunk CRCs repaired, so that they reach libpng's header checks,
            // inflate and row filters instead of stopping at the first CRC.
            var input = m.bytes(seeds[i % seeds.count])
            if i % 2 == 1 { input = Self.repairingCRCs(input) }
            let started = Date()
            do {
                let img = try RGBImage(pngData: input, name: "mutation \(i)")
                XCTAssertEqual(img.pixels.count, 3 * img.width * img.height)
                decoded += 1
            } catch let e as ImagingError {
                refused += 1
                if i % 2 == 1, !"\(e)".contains("CRC") { deep += 1 }
            } catch {
                XCTFail("mutation \(i) (seed 13): not an ImagingError: \(error)")
            }
            XCTAssertLessThan(Date().timeIntervalSince(started), 2, "mutation \(i) took too long")
        }
        XCTAssertGreaterThan(refused, 1000, "the mutations must damage most files")
        XCTAssertGreaterThan(decoded, 0, "and leave some decodable (a cut after the image data, a flipped ancillary bit)")
        XCTAssertEqual(decoded + refused, n)
        XCTAssertGreaterThan(deep, n / 10, "repaired mutations must get past the CRC checks")
        print("PNG fuzz: \(n) mutations, \(decoded) decoded, \(refused) refused, \(String(format: "%.1f", Date().timeIntervalSince(t0))) s")
    }

    /// Recomputes the CRC-32 of every chunk whose length still fits the file.
    static func repairingCRCs(_ bytes: [UInt8]) -> [UInt8] {
        var b = bytes
        var i = 8
        while i + 12 <= b.count {
            let len = Int(b[i]) << 24 | Int(b[i + 1]) << 16 | Int(b[i + 2]) << 8 | Int(b[i + 3])
            guard i + 12 + len <= b.count else { break }
            var c: UInt32 = 0xFFFF_FFFF
            for byte in b[(i + 4)..<(i + 8 + len)] {
                c ^= UInt32(byte)
                for _ in 0..<8 { c = c & 1 == 1 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
            }
            c ^= 0xFFFF_FFFF
            for k in 0..<4 { b[i + 8 + len + k] = UInt8(truncatingIfNeeded: c >> (8 * (3 - UInt32(k)))) }
            i += 12 + len
        }
        return b
    }
}
