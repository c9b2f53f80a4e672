import Foundation
import XCTest
@testable import Imaging

/// Test fixtures live next to the tests (found through #filePath, not bundle resources).
enum Fixture {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    static func path(_ name: String) -> String { folder.appendingPathComponent(name).path }

    static func image(_ name: String) throws -> RGBImage { try RGBImage(path: path(name)) }

    /// Raw little-endian float32 values.
    static func floats(_ name: String) throws -> [Float] {
        let data = try Data(contentsOf: folder.appendingPathComponent(name))
        return data.withUnsafeBytes { raw in
            (0..<(data.count / 4)).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self))) }
        }
    }

    /// A fresh temporary folder, removed when the test ends.
    static func temporaryFolder(_ test: XCTestCase) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("medpfl-imaging-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        test.addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }
}

/// The CHW values of an image given as per-pixel RGB triples of 8-bit (or 16-bit) samples.
func chw(_ rgb: [(Int, Int, Int)], scale: Float = 255) -> [Float] {
    rgb.map { Float($0.0) / scale } + rgb.map { Float($0.1) / scale } + rgb.map { Float($0.2) / scale }
}

/// The CHW values of a gray image (replicated to three channels).
func grayCHW(_ values: [Int], scale: Float = 255) -> [Float] {
    chw(values.map { ($0, $0, $0) }, scale: scale)
}

func assertClose(_ a: [Float], _ b: [Float], tolerance: Float, _ message: String = "",
                 file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.count, b.count, "count " + message, file: file, line: line)
    let worst = zip(a, b).map { abs($0 - $1) }.max() ?? 0
    XCTAssertLessThanOrEqual(worst, tolerance, "max difference " + message, file: file, line: line)
}
