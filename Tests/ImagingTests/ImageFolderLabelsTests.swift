import Foundation
import XCTest
@testable import Imaging

/// Data sets as sites hold them: a folder of files with a labels CSV, frames of multi-frame files as images.
final class ImageFolderLabelsTests: XCTestCase {
    static let dicom = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/dicom")
    var root: URL!

    override func setUpWithError() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("labels-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root.appendingPathComponent("scans/deep"), withIntermediateDirectories: true)
        for (src, dst) in [("MR_small.dcm", "scans/1.dcm"), ("CT_small.dcm", "scans/deep/2.dcm"), ("emri_small.dcm", "scans/3")] {
            try FileManager.default.copyItem(at: Self.dicom.appendingPathComponent(src), to: root.appendingPathComponent(dst))
        }
    }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: root) }

    func write(_ csv: String, name: String = "labels.csv") throws -> String {
        let p = root.appendingPathComponent(name)
        try csv.write(to: p, atomically: true, encoding: .utf8)
        return p.path
    }

    func testLabelsCSVClassesAndFrames() throws {
        let csv = try write("path,label,site\nscans/1.dcm,mri,A\nscans/deep/2.dcm,ct,A\nscans/3,mri,B\n")
        let f = try ImageFolder(root: root.path, labels: csv)
        XCTAssertEqual(f.classes, ["ct", "mri"])
        XCTAssertEqual(f.samples.map(\.label), [1, 0, 1])
        XCTAssertEqual(f.samples.map(\.name), ["scans/1.dcm", "scans/deep/2.dcm", "scans/3"])
        // An explicit class list numbers the classes in its order; a named column.
        let g = try ImageFolder(root: root.path, labels: try write("path,dx\nscans/1.dcm,mri\nscans/deep/2.dcm,ct\n", name: "dx.csv"),
                                labelColumn: "dx", classes: ["mri", "ct", "us"])
        XCTAssertEqual(g.samples.map(\.label), [0, 1])
        // frames: all: the 10 frames of the extensionless multi-frame file are images named path#k, one source.
        let all = try ImageFolder(root: root.path, labels: csv, options: ImageReadOptions(frames: .all))
        XCTAssertEqual(all.count, 12)
        XCTAssertEqual(all.samples[2].name, "scans/3#0")
        XCTAssertEqual(all.samples[11].name, "scans/3#9")
        XCTAssertEqual(Set((2..<12).map { all.source(of: $0) }), ["scans/3"])
        XCTAssertEqual(Set((2..<12).map { all.samples[$0].label }), [1])
        let a = try all.load(2, size: 32), b = try all.load(7, size: 32)
        XCTAssertNotEqual(a, b, "frames 0 and 5 differ")
        XCTAssertTrue(all.unreadable().isEmpty)
    }

    func testBadLabelFilesAreRefusedNamingTheProblem() throws {
        func reason(_ csv: String, classes: [String]? = nil) -> String {
            do { _ = try ImageFolder(root: root.path, labels: try write(csv), classes: classes); return "accepted" } catch {
                return "\(error)".replacingOccurrences(of: root.path + "/", with: "")
            }
        }
        XCTAssertEqual(reason("file,label\nscans/1.dcm,ct\n"), "unusable manifest labels.csv: no 'path' column")
        XCTAssertEqual(reason("path,class\nscans/1.dcm,ct\n"), "unusable manifest labels.csv: no 'label' column")
        XCTAssertEqual(reason("path,label\n"), "unusable manifest labels.csv: no rows")
        XCTAssertEqual(reason("path,label\nscans/1.dcm,\n"), "unusable manifest labels.csv: row 2 (scans/1.dcm) has an empty label")
        XCTAssertEqual(reason("path,label\n../x.dcm,ct\n"), "unusable manifest labels.csv: row 2: ../x.dcm is not a path inside \(root.path)")
        XCTAssertEqual(reason("path,label\nscans/1.dcm,ct\nscans/1.dcm,mri\n"), "unusable manifest labels.csv: row 3: scans/1.dcm is listed twice")
        XCTAssertEqual(reason("path,label\nscans/9.dcm,ct\n"), "missing file: scans/9.dcm")
        XCTAssertEqual(reason("path,label\nscans/1.dcm,us\n", classes: ["ct", "mri"]),
                       "unusable manifest labels.csv: scans/1.dcm has label 'us', not one of the classes ct, mri")
        XCTAssertEqual(reason("path,label\n\"scans/1.dcm,ct\n"), "unusable manifest labels.csv: a quoted field is not closed")
    }

    func testAnImageFolderCollectsDICOMFilesByContent() throws {
        // Class folders: an extensionless DICOM file counts, a text file does not.
        try FileManager.default.createDirectory(at: root.appendingPathComponent("set/mri"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: root.appendingPathComponent("set/ct"), withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: Self.dicom.appendingPathComponent("MR_small.dcm"), to: root.appendingPathComponent("set/mri/IM0001"))
        try FileManager.default.copyItem(at: Self.dicom.appendingPathComponent("CT_small.dcm"), to: root.appendingPathComponent("set/ct/a.DCM"))
        try "notes".write(to: root.appendingPathComponent("set/ct/README"), atomically: true, encoding: .utf8)
        let f = try ImageFolder(root: root.appendingPathComponent("set").path)
        XCTAssertEqual(f.samples.map(\.relativePath), ["ct/a.DCM", "mri/IM0001"])
        XCTAssertEqual(try f.load(1, size: 32).width, 32)
    }
}
