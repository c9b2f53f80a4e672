import Foundation
import XCTest
@testable import Imaging

/// NIfTI-1/2 through nifticlib, against nibabel (`scripts/experiments/nifti_reference.py`): slices along each
/// axis, scaled and windowed, within 1/255 (they agree to 1e-5 here).
final class NIfTIReadingTests: XCTestCase {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/nifti")

    struct Entry: Decodable {
        struct Check: Decodable {
            let axis: String, slice: Int, width: Int, height: Int
            let window: Setting
            let values: [Double]
        }
        enum Setting: Decodable {
            case name(String), window([String: Double])
            init(from decoder: Decoder) throws {
                let c = try decoder.singleValueContainer()
                if let s = try? c.decode(String.self) { self = .name(s) } else { self = .window(try c.decode([String: Double].self)) }
            }
            var choice: WindowChoice {
                switch self {
                case .name("auto"): return .auto
                case .window(let d): return .explicit(center: d["center"]!, width: d["width"]!)
                default: return .dicom
                }
            }
        }
        let shape: [Int]
        let checks: [Check]
    }

    func testSlicesEqualNibabel() throws {
        let ref = try JSONDecoder().decode([String: Entry].self, from: Data(contentsOf: Self.folder.appendingPathComponent("reference.json")))
        XCTAssertEqual(ref.count, 4)
        for (name, e) in ref.sorted(by: { $0.key < $1.key }) {
            let path = Self.folder.appendingPathComponent(name).path
            XCTAssertEqual(try ImageFormat.of(path: path), .nifti, name)
            let v = try NIfTIVolume(path: path)
            XCTAssertEqual([v.nx, v.ny, v.nz], e.shape, name)
            for c in e.checks {
                let axis = SliceAxis(rawValue: c.axis)!
                let f = try v.slice(c.slice, along: axis, window: c.window.choice)
                XCTAssertEqual(f.width, c.width, name)
                XCTAssertEqual(f.height, c.height, name)
                let worst = zip(f.planes, c.values).map { abs(Double($0) - $1) }.max()!
                XCTAssertLessThan(worst, 1e-4, "\(name) \(c.axis)=\(c.slice)")
            }
        }
        let v2 = try NIfTIVolume(path: Self.folder.appendingPathComponent("example_nifti2.nii.gz").path)
        XCTAssertEqual(v2.version, 2)
        XCTAssertEqual(v2.volumes, 2)
        let scaled = try NIfTIVolume(path: Self.folder.appendingPathComponent("scaled.nii.gz").path)
        XCTAssertEqual(scaled.slope, 2)
        XCTAssertEqual(scaled.intercept, -10)
        // Through ImageReader: the middle axial slice by default, every slice with frames: all.
        let path = Self.folder.appendingPathComponent("anatomical.nii").path
        XCTAssertEqual(try ImageReader.frames(path: path, options: ImageReadOptions(frames: .all)).count, 25)
        XCTAssertEqual(try ImageReader.frames(path: path, options: ImageReadOptions(frames: .all, axis: .x)).count, 33)
        XCTAssertEqual(try ImageReader.frameCount(path: path, axis: .y), 41)
    }

    func testTruncatedVolumeIsRefused() {
        let path = Self.folder.appendingPathComponent("truncated.nii.gz").path
        XCTAssertThrowsError(try ImageReader.frames(path: path)) { e in
            XCTAssertEqual("\(e)", "corrupt or unreadable NIfTI file: \(path) (the voxel data could not be read (truncated or damaged))")
        }
    }
}
