import Foundation
import XCTest

/// DICOM from the command line: preview, attack, audits on a folder of DICOM files labelled by a CSV, and no
/// patient identifier in any output.
extension CLITests {
    static let identified = root.appendingPathComponent("Tests/CLITests/Fixtures/dicom-identified")
    static let dicomFixtures = root.appendingPathComponent("Tests/ImagingTests/Fixtures/dicom")

    /// Every fake identifier written into the fixtures (scripts/experiments/dicom_fixtures.py).
    func identifiers() throws -> [String] {
        try String(contentsOf: Self.identified.appendingPathComponent("identifiers.txt"), encoding: .utf8)
            .split(separator: "\n").map(String.init).filter { !$0.isEmpty }
    }

    func bytesOfEveryFile(under dir: URL) throws -> [(String, Data)] {
        var out: [(String, Data)] = []
        guard let e = FileManager.default.enumerator(at: dir, includingPropertiesForKeys: [.isRegularFileKey]) else { return out }
        for case let u as URL in e where (try? u.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true {
            out.append((u.path, try Data(contentsOf: u)))
        }
        return out
    }

    /// An audit of DICOM files with patient identifiers, its report (md, html, JSON) and every command's stderr
    /// hold none of them: not the name, ID, birth date, accession number, UIDs, dates or institution.
    func testNoPatientIdentifierLeavesTheFiles() throws {
        let ids = try identifiers()
        XCTAssertGreaterThanOrEqual(ids.count, 15)
        // The fixtures really carry them (the grep below could not fail otherwise).
        let raw = try Data(contentsOf: Self.identified.appendingPathComponent("scans/record-01.dcm"))
        for v in ["QUIXOTEZZ^ALONSO", "PIDX8675309", "ACCX424242", "1.2.826.0.1.3680043.9.7391.424242.1"] {
            XCTAssertNotNil(raw.range(of: Data(v.utf8)), "fixture lacks \(v)")
        }
        let db = tmp.appendingPathComponent("ids.sqlite").path
        let audit = tmp.appendingPathComponent("ids.yaml")
        try """
        site: Identifier test
        seed: 3
        model: {name: lenet, classes: 2, input_size: 32}
        data:
          folder: \(Self.identified.path)
          labels: \(Self.identified.appendingPathComponent("labels.csv").path)
          frames: all
          samples: 2
        attacks:
          - idlg: {iterations: 5}
          - imprint
        defences: [none]
        output: {database: \(db), report_dir: \(tmp.appendingPathComponent("rep").path)}
        """.write(to: audit, atomically: true, encoding: .utf8)
        var texts: [(String, String)] = []
        let a = try run(["audit", audit.path])
        XCTAssertEqual(a.code, 0, a.err)
        texts += [("audit stdout", a.out), ("audit stderr", a.err)]
        for args in [["show", "1", "--db", db, "--json", "--redact"], ["show", "1", "--db", db, "--redact"],
                     ["report", "1", "--db", db, "--out", tmp.appendingPathComponent("rep2").path],
                     ["verify", "1", "--db", db],
                     ["preview", Self.identified.appendingPathComponent("scans/record-03.dcm").path, "--json",
                      "--out", tmp.appendingPathComponent("p.png").path],
                     ["attack", "--model", "lenet", "--attack", "idlg", "--iterations", "3",
                      "--image", Self.identified.appendingPathComponent("scans/record-02.dcm").path, "--label", "0", "--json"]] {
            let r = try run(args)
            XCTAssertEqual(r.code, 0, "\(args): \(r.err)")
            texts += [("\(args[0]) stdout", r.out), ("\(args[0]) stderr", r.err)]
        }
        var files = try bytesOfEveryFile(under: tmp.appendingPathComponent("rep"))
        files += try bytesOfEveryFile(under: tmp.appendingPathComponent("rep2"))
        files.append((db, try Data(contentsOf: URL(fileURLWithPath: db))))
        XCTAssertGreaterThan(files.count, 4)
        for v in ids {
            for (what, text) in texts { XCTAssertFalse(text.contains(v), "\(what) holds \(v)") }
            // Case-insensitively too, and in UTF-16 (SQLite stores UTF-8, but be thorough).
            for (path, data) in files {
                XCTAssertNil(data.range(of: Data(v.utf8)), "\(path) holds \(v)")
                XCTAssertNil(data.range(of: Data(v.lowercased().utf8)), "\(path) holds \(v.lowercased())")
            }
        }
        // File names (record numbers, often) are not in reports or JSON either: images are named by class and index.
        for (path, data) in files where path != db { XCTAssertNil(data.range(of: Data("record-0".utf8)), "\(path) names a file") }
        for (what, text) in texts where what.hasPrefix("show") || what.hasPrefix("report") || what.hasPrefix("verify") {
            XCTAssertFalse(text.contains("record-0"), "\(what) names a file")
        }
        // The log keeps the relative paths (it stays on the site's machine) and the decoded pixels' SHA-256; show
        // without --redact prints them, with it the same pseudonyms every time.
        let plain = try run(["show", "1", "--db", db, "--json"])
        XCTAssertTrue(plain.out.contains("record-0"))
        let redacted = try run(["show", "1", "--db", db, "--json", "--redact"])
        XCTAssertTrue(redacted.out.contains("image-01") && redacted.out.contains("image-02"), redacted.out)
        XCTAssertEqual(redacted.out, try run(["show", "1", "--db", db, "--json", "--redact"]).out)
        XCTAssertNotNil(try JSONSerialization.jsonObject(with: Data(redacted.out.utf8)))
        let show = try run(["show", "1", "--db", db])
        XCTAssertTrue(show.out.contains("Trials:     4 of 4"), show.out)
    }

    func testPreviewWritesWhatTheModelSees() throws {
        let ct = Self.dicomFixtures.appendingPathComponent("CT_small.dcm").path
        let out = tmp.appendingPathComponent("ct.png").path
        let r = try run(["preview", ct, "--window", "40,400", "--out", out, "--json"])
        XCTAssertEqual(r.code, 0, r.err)
        let facts = try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as! [String: Any]
        XCTAssertEqual(facts["transferSyntax"] as? String, "Explicit VR Little Endian")
        XCTAssertEqual(facts["photometricInterpretation"] as? String, "MONOCHROME2")
        XCTAssertEqual(facts["bitsStored"] as? Int, 16)
        XCTAssertEqual(facts["modalityLUT"] as? String, "rescale slope 1 intercept -1024")
        XCTAssertEqual((facts["window"] as? [String: Any])?["center"] as? Double, 40)
        XCTAssertEqual(facts["outputSize"] as? String, "128x128")
        var st = stat(); stat(out, &st)
        XCTAssertEqual(st.st_mode & 0o777, 0o600)
        // A 16-bit gray PNG: bit depth 16, colour type 0 in the IHDR chunk.
        let png = [UInt8](try Data(contentsOf: URL(fileURLWithPath: out)))
        XCTAssertEqual(png[24], 16)
        XCTAssertEqual(png[25], 0)
        // Resized to the model input, as 8-bit RGB.
        let small = tmp.appendingPathComponent("ct224.png").path
        let s = try run(["preview", ct, "--input", "3x224x224", "--out", small, "--json"])
        XCTAssertEqual(s.code, 0, s.err)
        let png2 = [UInt8](try Data(contentsOf: URL(fileURLWithPath: small)))
        XCTAssertEqual(png2[24], 8)
        XCTAssertEqual(png2[25], 2)
        // Bad input: one line, exit 2.
        for (args, needle) in [
            (["preview", Self.dicomFixtures.appendingPathComponent("rtplan.dcm").path, "--json"], "without pixel data"),
            (["preview", Self.dicomFixtures.appendingPathComponent("unknown_syntax_htj2k.dcm").path, "--json"], "High-Throughput JPEG 2000"),
            (["preview", Self.dicomFixtures.appendingPathComponent("MR_small_cut.dcm").path, "--json"], "truncated"),
            (["preview", Self.dicomFixtures.appendingPathComponent("not_dicom.dcm").path, "--json"], "not a DICOM file"),
            (["preview", Self.dicomFixtures.appendingPathComponent("emri_small.dcm").path, "--frame", "10", "--json"], "no frame 10"),
            (["preview", ct, "--window", "lung", "--json"], "--window"),
            (["preview", ct, "--input", "2x32x32", "--json"], "--input"),
        ] {
            let b = try run(args)
            XCTAssertEqual(b.code, 2, "\(args): \(b.err)")
            XCTAssertTrue(b.err.contains(needle), "\(args): \(b.err)")
            XCTAssertEqual(b.err.trimmingCharacters(in: .newlines).split(separator: "\n").count, 1, b.err)
        }
    }

    /// An audit on a folder of DICOM files whose list holds an unreadable one: refused before any work, naming
    /// it; with skip_unreadable the audit runs and says how many it left out.
    func testUnreadableDICOMFilesStopTheAuditUnlessSkipped() throws {
        let data = tmp.appendingPathComponent("site")
        try FileManager.default.createDirectory(at: data.appendingPathComponent("a"), withIntermediateDirectories: true)
        for (src, dst) in [("MR_small.dcm", "a/1.dcm"), ("CT_small.dcm", "a/2.dcm"), ("MR_small_RLE.dcm", "a/3.dcm"),
                           ("MR_small_cut.dcm", "a/4.dcm"), ("JPEG2000.dcm", "a/5.dcm")] {
            try FileManager.default.copyItem(at: Self.dicomFixtures.appendingPathComponent(src), to: data.appendingPathComponent(dst))
        }
        try "path,label\na/1.dcm,mr\na/2.dcm,ct\na/3.dcm,mr\na/4.dcm,mr\na/5.dcm,ct\n".write(to: data.appendingPathComponent("labels.csv"), atomically: true, encoding: .utf8)
        func audit(_ extra: String) throws -> (Int32, String, String) {
            let f = tmp.appendingPathComponent("a\(extra.count).yaml")
            try """
            site: Unreadable test
            model: {name: lenet, classes: 2, input_size: 32}
            data: {folder: \(data.path), labels: \(data.path)/labels.csv, samples: 2\(extra)}
            attacks: [imprint]
            defences: [none]
            output: {database: \(tmp.path)/u\(extra.count).sqlite, report_dir: \(tmp.path)/r\(extra.count)}
            """.write(to: f, atomically: true, encoding: .utf8)
            let r = try run(["audit", f.path, "--quiet"])
            return (r.code, r.out, r.err)
        }
        let refused = try audit("")
        XCTAssertEqual(refused.0, 2, refused.2)
        XCTAssertTrue(refused.2.contains("1 unreadable file"), refused.2)
        XCTAssertTrue(refused.2.contains("a/4.dcm"), refused.2)
        XCTAssertFalse(FileManager.default.fileExists(atPath: "\(tmp.path)/u0.sqlite"), "nothing is logged for a refused audit")
        let skipped = try audit(", skip_unreadable: true")
        XCTAssertEqual(skipped.0, 0, skipped.2)
        let rep = try String(contentsOfFile: "\(tmp.path)/r\(", skip_unreadable: true".count)/report.md", encoding: .utf8)
        XCTAssertTrue(rep.contains("1 unreadable image file was left out"), rep)
    }
}

extension CLITests {
    /// An audit on an ImageFolder of JPEG, TIFF and NIfTI files (slices of a volume as images), and attacks on
    /// single files of each format, end to end.
    func testAuditsOnJPEGTIFFAndNIfTIFolders() throws {
        let fixtures = Self.root.appendingPathComponent("Tests/ImagingTests/Fixtures")
        let data = tmp.appendingPathComponent("mixed")
        for (src, dst) in [("raster/xray-gray.jpg", "photo/a.jpg"), ("raster/fundus-rgb.jpg", "photo/b.jpeg"),
                           ("raster/histology-progressive.jpg", "photo/c.jpg"),
                           ("raster/xray-gray8-lzw.tif", "scan/a.tif"), ("raster/fundus-rgb-tiled.tif", "scan/b.tiff"),
                           ("raster/ct-gray16.tif", "scan/c.tif"),
                           ("nifti/example_nifti2.nii.gz", "volume/fmri.nii.gz")] {
            let to = data.appendingPathComponent(dst)
            try FileManager.default.createDirectory(at: to.deletingLastPathComponent(), withIntermediateDirectories: true)
            try FileManager.default.copyItem(at: fixtures.appendingPathComponent(src), to: to)
        }
        let db = tmp.appendingPathComponent("mixed.sqlite").path
        let audit = tmp.appendingPathComponent("mixed.yaml")
        try """
        site: Mixed formats
        seed: 5
        model: {name: lenet, classes: 3, input_size: 32}
        data: {folder: \(data.path), frames: all, slice_axis: z, window: auto, samples: 3}
        attacks: [imprint, {idlg: {iterations: 5}}]
        defences: [none]
        output: {database: \(db), report_dir: \(tmp.appendingPathComponent("mixed-report").path)}
        """.write(to: audit, atomically: true, encoding: .utf8)
        let a = try run(["audit", audit.path, "--quiet"])
        XCTAssertEqual(a.code, 0, a.err)
        let show = try run(["show", "1", "--db", db])
        XCTAssertTrue(show.out.contains("Trials:     6 of 6"), show.out)
        // 3 JPEG + 3 TIFF + the volume's 12 slices: the imprint attack rebuilds the selected images exactly.
        XCTAssertTrue(show.out.contains("imprint"), show.out)
        for file in ["raster/fundus-rgb.jpg", "raster/pages3.tif", "nifti/anatomical.nii"] {
            let r = try run(["attack", "--model", "lenet", "--attack", "imprint", "--image", fixtures.appendingPathComponent(file).path,
                             "--label", "0", "--json", "--quiet"])
            XCTAssertEqual(r.code, 0, "\(file): \(r.err)")
            let j = try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as! [String: Any]
            let agg = j["aggregate"] as! [String: Any]
            XCTAssertGreaterThan(agg["meanSSIM"] as! Double, 0.99, file)
        }
    }
}
