import Foundation
import XCTest
@testable import Imaging

/// DICOM decoding against pydicom: every fixture of Tests/ImagingTests/Fixtures/dicom (copied from pydicom 3.0.2
/// and pydicom-data 1.0.0, see PROVENANCE.md there) decodes to the values `scripts/experiments/dicom_reference.py`
/// wrote with pydicom's decoders, `apply_modality_lut` and `apply_voi_lut`, within 1/255.
final class DICOMDecodingTests: XCTestCase {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/dicom")

    struct Reference: Decodable {
        struct Check: Decodable {
            let setting: [String: Setting]
            let frame: Int
            let step: Int
            let count: Int
            let values: [Double]
        }
        enum Setting: Decodable {
            case name(String)
            case window([String: Double])
            init(from decoder: Decoder) throws {
                let c = try decoder.singleValueContainer()
                if let s = try? c.decode(String.self) { self = .name(s) } else { self = .window(try c.decode([String: Double].self)) }
            }
        }
        let file: String
        let transfer_syntax: String
        let photometric: String
        let rows: Int
        let columns: Int
        let frames: Int
        let samples_per_pixel: Int
        let checks: [Check]
    }

    static func references() throws -> [Reference] {
        let dir = folder.appendingPathComponent("reference")
        let names = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".json") }.sorted()
        return try names.map { try JSONDecoder().decode(Reference.self, from: Data(contentsOf: dir.appendingPathComponent($0))) }
    }

    func window(_ s: Reference.Setting?) -> WindowChoice {
        switch s {
        case .name("auto"): return .auto
        case .window(let d): return .explicit(center: d["center"]!, width: d["width"]!)
        default: return .dicom
        }
    }

    func testEveryFixtureDecodesToThePydicomReferenceWithinOneLevelIn255() throws {
        let refs = try Self.references()
        XCTAssertGreaterThanOrEqual(refs.count, 20)
        var syntaxes = Set<String>()
        for ref in refs {
            let path = Self.folder.appendingPathComponent(ref.file).path
            let image = try DICOMImage(path: path)
            XCTAssertEqual(image.facts.rows, ref.rows, ref.file)
            XCTAssertEqual(image.facts.columns, ref.columns, ref.file)
            XCTAssertEqual(image.frames, ref.frames, ref.file)
            XCTAssertEqual(image.facts.photometricInterpretation, ref.photometric, ref.file)
            XCTAssertEqual(image.facts.transferSyntaxUID, ref.transfer_syntax, ref.file)
            syntaxes.insert(ref.transfer_syntax)
            for check in ref.checks {
                let w = window(check.setting["window"])
                let frame = try image.frame(check.frame, window: w)
                XCTAssertEqual(frame.planes.count, check.count, "\(ref.file) frame \(check.frame)")
                var worst = 0.0, at = 0
                for (j, expected) in check.values.enumerated() {
                    let d = abs(Double(frame.planes[j * check.step]) - expected)
                    if d > worst { worst = d; at = j * check.step }
                }
                XCTAssertLessThanOrEqual(worst, 1.0 / 255, "\(ref.file) frame \(check.frame) window \(w): value \(at) is off by \(worst)")
            }
        }
        // The comparison can fail: the CT's own reference against a soft-tissue window is far off.
        let ct = refs.first { $0.file == "CT_small.dcm" }!
        let wrong = try DICOMImage(path: Self.folder.appendingPathComponent("CT_small.dcm").path).frame(0, window: .explicit(center: 40, width: 400))
        let dicomCheck = ct.checks.first { window($0.setting["window"]) == .dicom }!
        let off = zip(dicomCheck.values, stride(from: 0, to: wrong.planes.count, by: dicomCheck.step).map { wrong.planes[$0] })
            .map { abs($0 - Double($1)) }.max()!
        XCTAssertGreaterThan(off, 0.2)
        // Every transfer syntax the issue lists has a fixture: uncompressed (implicit, explicit LE, deflated, explicit BE),
        // RLE, JPEG baseline, extended, lossless, JPEG-LS lossless and near-lossless, JPEG 2000 lossless and lossy.
        for uid in ["1.2.840.10008.1.2", "1.2.840.10008.1.2.1", "1.2.840.10008.1.2.1.99", "1.2.840.10008.1.2.2", "1.2.840.10008.1.2.5",
                    "1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.51", "1.2.840.10008.1.2.4.70",
                    "1.2.840.10008.1.2.4.80", "1.2.840.10008.1.2.4.81", "1.2.840.10008.1.2.4.90", "1.2.840.10008.1.2.4.91"] {
            XCTAssertTrue(syntaxes.contains(uid), "no fixture checks \(TransferSyntax.name(uid))")
        }
        XCTAssertEqual(Set(TransferSyntax.decoded), Set(syntaxes).intersection(TransferSyntax.decoded), "every syntax said to decode has a fixture")
        XCTAssertEqual(Set(TransferSyntax.decoded).count, 12)
    }

    func testWindowingFollowsTheStandardOnKnownValues() throws {
        // CT_small: rescale intercept -1024; soft-tissue window 40/400 maps -160 HU to 0 and 240 HU to 1.
        let ct = try DICOMImage(path: Self.folder.appendingPathComponent("CT_small.dcm").path)
        XCTAssertEqual(ct.facts.modalityLUT, "rescale slope 1 intercept -1024")
        XCTAssertTrue(ct.facts.signed)
        let linear = VOITransform.window(center: 40, width: 400, function: .linear)
        XCTAssertEqual(linear.apply(-160.5), 0)
        XCTAssertEqual(linear.apply(40 - 0.5), 0.5, accuracy: 1e-12)
        XCTAssertEqual(linear.apply(239.5), 1)
        XCTAssertEqual(VOITransform.window(center: 0, width: 10, function: .linearExact).apply(2.5), 0.75, accuracy: 1e-12)
        XCTAssertEqual(VOITransform.window(center: 0, width: 10, function: .sigmoid).apply(0), 0.5, accuracy: 1e-12)
        // MONOCHROME1 is inverted: the brightest stored value (bone in a CR) becomes the darkest... and back.
        let cr = try DICOMImage(path: Self.folder.appendingPathComponent("RG3_J2KI.dcm").path)
        XCTAssertEqual(cr.facts.photometricInterpretation, "MONOCHROME1")
        let f = try cr.frame(0, window: .explicit(center: 300, width: 600))
        let g = try cr.frame(0, window: .explicit(center: 300, width: 600))
        XCTAssertEqual(f, g, "decoding is deterministic")
        XCTAssertEqual(percentile([1, 2, 3, 4], 50), 2.5)
        XCTAssertEqual(WindowChoice("-600, 1500"), .explicit(center: -600, width: 1500))
        XCTAssertNil(WindowChoice("40,0"))
        XCTAssertNil(WindowChoice("lung"))
    }

    func testFramesOfAnEnhancedMultiFrameFile() throws {
        let path = Self.folder.appendingPathComponent("emri_small.dcm").path
        XCTAssertEqual(try ImageReader.frameCount(path: path), 10)
        let all = try ImageReader.frames(path: path, options: ImageReadOptions(frames: .all))
        XCTAssertEqual(all.count, 10)
        let middle = try ImageReader.frames(path: path, options: ImageReadOptions(frames: .middle))
        XCTAssertEqual(middle, [all[5]])
        XCTAssertNotEqual(all[0].planes, all[5].planes)
        XCTAssertThrowsError(try ImageReader.frames(path: path, options: ImageReadOptions(frames: .index(10)))) { e in
            XCTAssertEqual("\(e)", "no frame 10 in \(path): it has 10 frames (0 to 9)")
        }
        // RGBImage(path:) reads DICOM as PNG: the middle frame, gray in all three channels.
        let rgb = try RGBImage(path: path)
        XCTAssertEqual(rgb, all[5].rgbImage)
        XCTAssertEqual(Array(rgb.pixels[0..<4096]), Array(rgb.pixels[4096..<8192]))
    }

    func testBadFilesAreRefusedWithOneLineNamingTheProblem() {
        func error(_ name: String) -> String {
            let path = Self.folder.appendingPathComponent(name).path
            do { _ = try RGBImage(path: path); return "decoded" } catch {
                return "\(error)".replacingOccurrences(of: Self.folder.path + "/", with: "")
            }
        }
        XCTAssertEqual(error("rtplan.dcm"), "DICOM file without pixel data: rtplan.dcm")
        XCTAssertEqual(error("unknown_syntax_htj2k.dcm"),
                       "unsupported DICOM transfer syntax High-Throughput JPEG 2000 (Lossless Only) (1.2.840.10008.1.2.4.201): unknown_syntax_htj2k.dcm (see docs/DICOM.md for the decoded ones)")
        XCTAssertEqual(error("not_dicom.dcm"), "not a DICOM file: not_dicom.dcm (no data set could be parsed)")
        XCTAssertEqual(error("MR_small_cut.dcm"), "corrupt or truncated DICOM file: MR_small_cut.dcm (the file ends inside its pixel data (truncated))")
        XCTAssertEqual(error("MR_truncated.dcm"), "corrupt or truncated DICOM file: MR_truncated.dcm (the file ends inside its pixel data (truncated))")
        XCTAssertTrue(error("emri_small_jpeg_2k_lossless_too_short.dcm").hasPrefix("corrupt or truncated DICOM file: emri_small_jpeg_2k_lossless_too_short.dcm ("))
        XCTAssertEqual(error("no-such-file.dcm"), "missing file: no-such-file.dcm")
        for e in ["rtplan.dcm", "unknown_syntax_htj2k.dcm", "not_dicom.dcm", "MR_small_cut.dcm"].map(error) {
            XCTAssertFalse(e.contains("\n"), e)
        }
    }

    func testDamagedCopiesOfEveryFixtureNeverCrash() throws {
        // Truncations and byte flips of real files: each decodes or throws; the process must survive GDCM's asserts.
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("dicom-damage-\(getpid())")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: tmp) }
        var seed: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next() -> UInt64 { seed = seed &* 6364136223846793005 &+ 1442695040888963407; return seed >> 33 }
        var outcomes = 0
        for name in ["MR_small.dcm", "MR_small_RLE.dcm", "MR_small_jpeg_ls_lossless.dcm", "MR_small_jp2klossless.dcm",
                     "SC_rgb_jpeg_dcmtk.dcm", "emri_small.dcm", "vlut_04.dcm"] {
            let bytes = try [UInt8](Data(contentsOf: Self.folder.appendingPathComponent(name)))
            for k in 0..<6 {
                var b = bytes
                if k % 3 == 0 { b = Array(b.prefix(Int(next() % UInt64(b.count)))) } else {
                    for _ in 0..<(1 + Int(next() % 8)) { b[Int(next() % UInt64(b.count))] = UInt8(next() & 0xFF) }
                }
                let p = tmp.appendingPathComponent("\(k)-\(name)")
                try Data(b).write(to: p)
                do { _ = try ImageReader.frames(path: p.path, options: ImageReadOptions(frames: .all)) } catch {
                    XCTAssertTrue(error is ImagingError, "\(error)")
                }
                outcomes += 1
            }
        }
        XCTAssertEqual(outcomes, 42)
    }
}
