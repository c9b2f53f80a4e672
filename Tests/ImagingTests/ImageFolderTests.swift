import XCTest
@testable import Imaging

/// Class folders, labels, order, manifest sources and errors.
final class ImageFolderTests: XCTestCase {
    /// root/{b_class, a_class, B}/... with a hidden file, a non-PNG and a nested folder.
    func makeTree() throws -> URL {
        let base = try Fixture.temporaryFolder(self)
        let root = base.appendingPathComponent("32")
        let fm = FileManager.default
        let files = ["b_class/x.png", "a_class/z.png", "a_class/sub/y.png", "a_class/c.PNG", "B/q.png",
                     "a_class/.hidden.png"]
        for (i, f) in files.enumerated() {
            let url = root.appendingPathComponent(f)
            try fm.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try RGBImage(width: 4, height: 2, repeating: Float(i) / 10).writePNG(to: url.path)
        }
        try Data("notes".utf8).write(to: root.appendingPathComponent("a_class/readme.txt"))
        try fm.createDirectory(at: root.appendingPathComponent(".git"), withIntermediateDirectories: true)
        return root
    }

    func testClassesLabelsAndOrder() throws {
        let root = try makeTree()
        let set = try ImageFolder(root: root.path)
        XCTAssertEqual(set.classes, ["B", "a_class", "b_class"])        // byte order: uppercase first
        XCTAssertEqual(set.samples.map(\.relativePath),
                       ["B/q.png", "a_class/c.PNG", "a_class/sub/y.png", "a_class/z.png", "b_class/x.png"])
        XCTAssertEqual(set.labels, [0, 1, 1, 1, 2])
        XCTAssertEqual(set.indices(ofClass: 1), [1, 2, 3])
        XCTAssertEqual(set.samples[4].path, root.appendingPathComponent("b_class/x.png").path)
        XCTAssertNil(set.manifestPath)
        XCTAssertEqual(set.source(of: 0), "B/q.png")                   // no manifest: its own source
        let img = try set.load(4, size: 2)                                // 4x2 -> fitted to 2x2
        XCTAssertEqual(img.width, 2); XCTAssertEqual(img.height, 2)
        XCTAssertEqual(img.pixels, [Float](repeating: 0, count: 12))
        XCTAssertThrowsError(try set.load(4, size: 2, resize: false)) { e in
            XCTAssertEqual(e as? ImagingError, .wrongSize(subject: set.samples[4].path, expected: "2x2", actual: "4x2"))
        }
    }

    func testManifestInParentGivesSources() throws {
        let root = try makeTree()
        let csv = "split,file,source_path,intensity\r\n" +
            "sample,b_class/x.png,scans/one.dcm,\"window C=40, W=100\"\r\n" +
            "sample,a_class/sub/y.png,\"scans/two, \"\"quoted\"\".dcm\",plain\r\n"
        let manifest = root.deletingLastPathComponent().appendingPathComponent("manifest.csv")
        try Data(csv.utf8).write(to: manifest)
        let set = try ImageFolder(root: root.path)
        XCTAssertEqual(set.manifestPath, manifest.path)
        XCTAssertEqual(set.source(of: 4), "scans/one.dcm")
        XCTAssertEqual(set.source(of: 2), "scans/two, \"quoted\".dcm")
        XCTAssertEqual(set.source(of: 3), "a_class/z.png")
        XCTAssertEqual(set.manifestRow(of: 4)?["intensity"], "window C=40, W=100")
        XCTAssertNil(set.manifestRow(of: 0))
    }

    func testManifestInRootWinsAndMustHaveColumns() throws {
        let root = try makeTree()
        try Data("file,source_path\nB/q.png,root.dcm\n".utf8).write(to: root.appendingPathComponent("manifest.csv"))
        try Data("file,source_path\nB/q.png,parent.dcm\n".utf8)
            .write(to: root.deletingLastPathComponent().appendingPathComponent("manifest.csv"))
        XCTAssertEqual(try ImageFolder(root: root.path).source(of: 0), "root.dcm")
        let bad = root.appendingPathComponent("manifest.csv")
        try Data("name,source_path\nB/q.png,x\n".utf8).write(to: bad)
        XCTAssertThrowsError(try ImageFolder(root: root.path)) { e in
            XCTAssertEqual(e as? ImagingError, .badManifest(path: bad.path, reason: "no 'file' column"))
        }
    }

    func testFolderErrors() throws {
        let base = try Fixture.temporaryFolder(self)
        let missing = base.appendingPathComponent("nope").path
        XCTAssertThrowsError(try ImageFolder(root: missing)) { XCTAssertEqual($0 as? ImagingError, .missingFile(path: missing)) }

        let flat = base.appendingPathComponent("flat")
        try FileManager.default.createDirectory(at: flat, withIntermediateDirectories: true)
        try RGBImage(width: 1, height: 1, repeating: 0).writePNG(to: flat.appendingPathComponent("a.png").path)
        XCTAssertThrowsError(try ImageFolder(root: flat.path)) {
            XCTAssertEqual($0 as? ImagingError, .noClassFolders(path: flat.path))
            XCTAssertTrue("\($0)".contains(flat.path))
        }

        let empty = flat.appendingPathComponent("emptyclass")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        XCTAssertThrowsError(try ImageFolder(root: flat.path)) {
            XCTAssertEqual($0 as? ImagingError, .emptyFolder(path: empty.path))
        }
    }

    /// The sample committed under data/ is readable with its manifest.
    func testCommittedMedicalSample() throws {
        let root = Fixture.repository.appendingPathComponent("data/medical-sample/32").path
        let set = try ImageFolder(root: root)
        XCTAssertEqual(set.classes, ["ct", "fundus", "histology", "mri", "ultrasound", "xray"])
        XCTAssertEqual(set.count, 180)
        for label in 0..<6 { XCTAssertEqual(set.indices(ofClass: label).count, 30) }
        XCTAssertNotNil(set.manifestPath)
        XCTAssertEqual(set.samples[0].relativePath, "ct/ct693_r00c01.png")
        XCTAssertEqual(set.source(of: 0), "data_store/data/693_UNCR.dcm")
        XCTAssertTrue((0..<set.count).allSatisfy { set.manifestRow(of: $0) != nil })
        let i = set.samples.firstIndex { $0.relativePath == "ultrasound/echo4c_f012.png" }!
        XCTAssertEqual(set.samples[i].label, 4)
        XCTAssertEqual(try set.load(i, size: 32), try Fixture.image("ultrasound_echo4c_f012.png"))
    }
}
