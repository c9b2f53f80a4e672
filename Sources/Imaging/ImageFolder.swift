import Foundation
import Tensor

/// A labelled image data set: laid out like torchvision's `ImageFolder` (one sub-folder per class), or a folder
/// of files (nested as the site keeps them) with a labels CSV (`init(root:labels:...)`).
///
/// ```
/// root/ct/ct693_r00c01.png        label 0
/// root/fundus/retina_r00c03.png   label 1
/// ...
/// ```
/// Class names are the sub-folders of `root` (hidden ones skipped) sorted in byte order; a sample's
/// label is the index of its class. Image files (`.png`, `.dcm`, `.dicom`, any case, and files without an
/// extension that hold DICOM) are collected recursively inside each class folder; samples are ordered by class,
/// then by relative path in byte order, which is torchvision's order. With `frames: .all` every frame of a
/// multi-frame DICOM file is a sample of its own, right after the file's previous frame; the frames of one file
/// share its label and its source (one patient: one side of every split). An optional `manifest.csv`, in `root` or in its parent folder, maps each file
/// (column `file`, the path relative to `root`, e.g. `xray/rg1chest_r00c00.png`) to the image it was cut
/// from (column `source_path`), so callers can keep crops of one source on the same side of a split.
public struct ImageFolder: Sendable {
    /// One image of the set.
    public struct Sample: Sendable, Equatable {
        /// Path of the file (`root` joined with `relativePath`).
        public let path: String
        /// Path relative to the root, `<class>/<file>` (always with `/`).
        public let relativePath: String
        /// Index of the class in `classes`.
        public let label: Int
        /// The 0-based frame of a multi-frame file when every frame is a sample (`frames: .all`), else nil
        /// (the reading options' choice applies).
        public let frame: Int?

        public init(path: String, relativePath: String, label: Int, frame: Int? = nil) {
            self.path = path
            self.relativePath = relativePath
            self.label = label
            self.frame = frame
        }

        /// The sample's name in logs and reports: its relative path, with `#frame` for one frame of several.
        public var name: String { frame.map { "\(relativePath)#\($0)" } ?? relativePath }
    }

    /// The folder the set was read from.
    public let root: String
    /// Class names in label order.
    public let classes: [String]
    /// Every sample, ordered by label, then relative path.
    public let samples: [Sample]
    /// The manifest that was read, if any.
    public let manifestPath: String?
    /// Manifest rows by relative path (column name to value).
    let manifest: [String: [String: String]]
    /// How files are decoded (DICOM window, frames).
    public let options: ImageReadOptions
    /// The labels CSV the set was read with, if any.
    public let labelsPath: String?

    /// Scans `root`.
    /// - Throws: `ImagingError.missingFile` (no such folder), `.unreadable`, `.noClassFolders`,
    ///   `.emptyFolder` (a class folder without PNG files), `.badManifest` (a manifest without the
    ///   `file` and `source_path` columns).
    public init(root: String, options: ImageReadOptions = .standard) throws {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: root, isDirectory: &isDir) else { throw ImagingError.missingFile(path: root) }
        guard isDir.boolValue else { throw ImagingError.unreadable(path: root, reason: "not a directory") }
        let rootURL = URL(fileURLWithPath: root, isDirectory: true)
        let entries: [String]
        do { entries = try fm.contentsOfDirectory(atPath: root) } catch {
            throw ImagingError.unreadable(path: root, reason: error.localizedDescription)
        }
        let classNames = entries.filter { name in
            var d: ObjCBool = false
            return !name.hasPrefix(".") && fm.fileExists(atPath: rootURL.appendingPathComponent(name).path, isDirectory: &d)
                && d.boolValue
        }.sorted(by: byteOrder)
        guard !classNames.isEmpty else { throw ImagingError.noClassFolders(path: root) }

        var samples: [Sample] = []
        for (label, name) in classNames.enumerated() {
            let classPath = rootURL.appendingPathComponent(name).path
            let files = try imageFiles(under: classPath).sorted(by: byteOrder)
            guard !files.isEmpty else { throw ImagingError.emptyFolder(path: classPath) }
            for f in files {
                samples += try Self.expand(path: rootURL.appendingPathComponent(name).appendingPathComponent(f).path,
                                      relativePath: name + "/" + f, label: label, options: options)
            }
        }
        self.root = root
        self.classes = classNames
        self.samples = samples
        self.options = options
        self.labelsPath = nil
        (manifestPath, manifest) = try readManifest(near: rootURL)
    }

    /// A folder of image files (any supported format, nested) labelled by a CSV: one row per file, its path
    /// relative to `root` in column `path` and its class in `labelColumn` (default `label`).
    ///
    /// Classes are `classes` in that order when given (a label outside them is an error), else the distinct
    /// labels sorted in byte order. Samples are in the CSV's row order. A `source_path` column, when present,
    /// groups files of one source (as the ImageFolder manifest does); otherwise each file is its own source.
    /// - Throws: `.missingFile` (root, CSV or a listed file), `.badManifest` (no `path` or label column, an empty
    ///   label, a path outside the root, a file listed twice, a label outside `classes`, no rows).
    public init(root: String, labels: String, labelColumn: String? = nil, classes explicit: [String]? = nil,
                options: ImageReadOptions = .standard) throws {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: root, isDirectory: &isDir) else { throw ImagingError.missingFile(path: root) }
        guard isDir.boolValue else { throw ImagingError.unreadable(path: root, reason: "not a directory") }
        guard FileManager.default.fileExists(atPath: labels) else { throw ImagingError.missingFile(path: labels) }
        let table = try CSVTable(path: labels)
        let column = labelColumn ?? "label"
        guard let pathIndex = table.column("path") else { throw ImagingError.badManifest(path: labels, reason: "no 'path' column") }
        guard let labelIndex = table.column(column) else { throw ImagingError.badManifest(path: labels, reason: "no '\(column)' column") }
        guard !table.rows.isEmpty else { throw ImagingError.badManifest(path: labels, reason: "no rows") }
        let rootURL = URL(fileURLWithPath: root, isDirectory: true)
        var seen = Set<String>()
        var rows: [(rel: String, label: String)] = []
        for (k, r) in table.rows.enumerated() {
            let rel = r[pathIndex].trimmingCharacters(in: .whitespaces)
            let label = r[labelIndex].trimmingCharacters(in: .whitespaces)
            let line = k + 2
            guard !rel.isEmpty else { throw ImagingError.badManifest(path: labels, reason: "row \(line) has an empty path") }
            guard !label.isEmpty else { throw ImagingError.badManifest(path: labels, reason: "row \(line) (\(rel)) has an empty label") }
            let parts = rel.split(separator: "/")
            guard !rel.hasPrefix("/"), !parts.contains("..") else {
                throw ImagingError.badManifest(path: labels, reason: "row \(line): \(rel) is not a path inside \(root)")
            }
            guard seen.insert(rel).inserted else { throw ImagingError.badManifest(path: labels, reason: "row \(line): \(rel) is listed twice") }
            rows.append((rel, label))
        }
        let names = explicit ?? Array(Set(rows.map(\.label))).sorted(by: byteOrder)
        guard names.count >= 1 else { throw ImagingError.badManifest(path: labels, reason: "no classes") }
        let index = Dictionary(names.enumerated().map { ($1, $0) }, uniquingKeysWith: { a, _ in a })
        var samples: [Sample] = []
        for r in rows {
            guard let label = index[r.label] else {
                throw ImagingError.badManifest(path: labels, reason: "\(r.rel) has label '\(r.label)', not one of the classes \(names.joined(separator: ", "))")
            }
            let path = rootURL.appendingPathComponent(r.rel).path
            guard FileManager.default.fileExists(atPath: path) else { throw ImagingError.missingFile(path: path) }
            samples += try Self.expand(path: path, relativePath: r.rel, label: label, options: options)
        }
        self.root = root
        self.classes = names
        self.samples = samples
        self.options = options
        self.labelsPath = labels
        if table.column("source_path") != nil {
            var m: [String: [String: String]] = [:]
            for r in table.rows { m[r[pathIndex].trimmingCharacters(in: .whitespaces)] = Dictionary(zip(table.header, r), uniquingKeysWith: { a, _ in a }) }
            (manifestPath, manifest) = (labels, m)
        } else {
            (manifestPath, manifest) = (nil, [:])
        }
    }

    /// The files (with `frames: .all`, the frames) a listed file contributes.
    private static func expand(path: String, relativePath: String, label: Int, options: ImageReadOptions) throws -> [Sample] {
        guard options.frames == .all else { return [Sample(path: path, relativePath: relativePath, label: label)] }
        let n = try ImageReader.frameCount(path: path, axis: options.axis)
        if n == 1 { return [Sample(path: path, relativePath: relativePath, label: label)] }
        return (0..<n).map { Sample(path: path, relativePath: relativePath, label: label, frame: $0) }
    }

    /// Decodes every sample once and returns those that cannot be read (its name and the one-line reason), in
    /// sample order: the check an audit runs before any work.
    public func unreadable() -> [(name: String, reason: String)] {
        ImageReader.unreadable(samples.map { ($0.relativePath, $0.path) }, options: options).map { ($0.name, $0.reason) }
    }

    /// Number of samples.
    public var count: Int { samples.count }

    /// The label of every sample, in sample order.
    public var labels: [Int] { samples.map(\.label) }

    /// Indices of the samples of class `label`.
    public func indices(ofClass label: Int) -> [Int] {
        samples.indices.filter { samples[$0].label == label }
    }

    /// The source a sample was cut from: the manifest's `source_path`, or, for a file the manifest does
    /// not list (or without a manifest), the sample's own relative path (each file its own source).
    public func source(of i: Int) -> String {
        let rel = samples[i].relativePath
        if let s = manifest[rel]?["source_path"], !s.isEmpty { return s }
        return rel
    }

    /// The sample's whole manifest row (column name to value), if the manifest lists it.
    public func manifestRow(of i: Int) -> [String: String]? {
        manifest[samples[i].relativePath]
    }

    /// Reads sample `i` and fits it to `size x size` (`RGBImage.fitted(size:method:)`: shorter side to
    /// `size`, then a centre crop; a no-op for images already that size).
    /// - Parameter resize: when false, an image that is not `size x size` throws `ImagingError.wrongSize`
    ///   instead of being resized.
    public func load(_ i: Int, size: Int, method: ResizeMethod = .area, resize: Bool = true) throws -> RGBImage {
        precondition(samples.indices.contains(i), "ImageFolder.load: index \(i) out of 0..<\(count)")
        let image = try ImageReader.image(path: samples[i].path, frame: samples[i].frame, options: options)
        if image.width == size && image.height == size { return image }
        guard resize else {
            throw ImagingError.wrongSize(subject: samples[i].path, expected: "\(size)x\(size)",
                                         actual: "\(image.width)x\(image.height)")
        }
        return image.fitted(size: size, method: method)
    }
}

/// Byte-wise (UTF-8) ordering, as Python's `sorted` on file names.
func byteOrder(_ a: String, _ b: String) -> Bool {
    a.utf8.lexicographicallyPrecedes(b.utf8)
}

/// Image files below `folder`, as `/`-separated paths relative to it; hidden files and folders skipped. A file
/// counts when its extension is a readable format's, or when it has none and holds DICOM (sites often keep
/// DICOM files without an extension).
private func imageFiles(under folder: String) throws -> [String] {
    let fm = FileManager.default
    let all: [String]
    do { all = try fm.subpathsOfDirectory(atPath: folder) } catch {
        throw ImagingError.unreadable(path: folder, reason: error.localizedDescription)
    }
    return all.filter { rel in
        let parts = rel.split(separator: "/")
        guard let last = parts.last, !parts.contains(where: { $0.hasPrefix(".") }) else { return false }
        var d: ObjCBool = false
        guard fm.fileExists(atPath: folder + "/" + rel, isDirectory: &d), !d.boolValue else { return false }
        if ImageFormat.hasImageExtension(String(last)) { return true }
        guard !last.contains(".") else { return false }
        return (try? ImageFormat.of(path: folder + "/" + rel)) == .dicom
    }
}

/// Reads `manifest.csv` from `root` or, failing that, its parent. Rows are keyed by the `file` column.
private func readManifest(near root: URL) throws -> (String?, [String: [String: String]]) {
    let candidates = [root.appendingPathComponent("manifest.csv"),
                      root.deletingLastPathComponent().appendingPathComponent("manifest.csv")]
    guard let url = candidates.first(where: { FileManager.default.fileExists(atPath: $0.path) }) else {
        return (nil, [:])
    }
    let table = try CSVTable(path: url.path)
    guard let fileColumn = table.column("file") else {
        throw ImagingError.badManifest(path: url.path, reason: "no 'file' column")
    }
    guard table.column("source_path") != nil else {
        throw ImagingError.badManifest(path: url.path, reason: "no 'source_path' column")
    }
    var rows: [String: [String: String]] = [:]
    for r in table.rows {
        rows[r[fileColumn]] = Dictionary(zip(table.header, r), uniquingKeysWith: { first, _ in first })
    }
    return (url.path, rows)
}

/// `count` sample indices spread evenly over the classes: round-robin over the classes (in label order),
/// each class's samples in a seeded random order. Deterministic for a given generator state.
public func selectEvenly(labels: [Int], count: Int, rng: inout SeededGenerator) -> [Int] {
    var perClass = Set(labels).sorted().map { l in labels.indices.filter { labels[$0] == l } }
    for c in perClass.indices { perClass[c].shuffle(using: &rng) }
    var out: [Int] = []
    var round = 0
    while out.count < count && perClass.contains(where: { round < $0.count }) {
        for c in perClass.indices where round < perClass[c].count && out.count < count { out.append(perClass[c][round]) }
        round += 1
    }
    return out
}
