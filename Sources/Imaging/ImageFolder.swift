import Foundation
import Tensor

/// A labelled image data set laid out like torchvision's `ImageFolder`: one sub-folder per class.
///
/// ```
/// root/ct/ct693_r00c01.png        label 0
/// root/fundus/retina_r00c03.png   label 1
/// ...
/// ```
/// Class names are the sub-folders of `root` (hidden ones skipped) sorted in byte order; a sample's
/// label is the index of its class. PNG files (`.png`, any case) are collected recursively inside each
/// class folder; samples are ordered by class, then by relative path in byte order, which is
/// torchvision's order. An optional `manifest.csv`, in `root` or in its parent folder, maps each file
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

    /// Scans `root`.
    /// - Throws: `ImagingError.missingFile` (no such folder), `.unreadable`, `.noClassFolders`,
    ///   `.emptyFolder` (a class folder without PNG files), `.badManifest` (a manifest without the
    ///   `file` and `source_path` columns).
    public init(root: String) throws {
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
            let files = try pngFiles(under: classPath).sorted(by: byteOrder)
            guard !files.isEmpty else { throw ImagingError.emptyFolder(path: classPath) }
            for f in files {
                samples.append(Sample(path: rootURL.appendingPathComponent(name).appendingPathComponent(f).path,
                                      relativePath: name + "/" + f, label: label))
            }
        }
        self.root = root
        self.classes = classNames
        self.samples = samples
        (manifestPath, manifest) = try readManifest(near: rootURL)
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
        let image = try RGBImage(path: samples[i].path)
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

/// PNG files below `folder`, as `/`-separated paths relative to it; hidden files and folders skipped.
private func pngFiles(under folder: String) throws -> [String] {
    let fm = FileManager.default
    let all: [String]
    do { all = try fm.subpathsOfDirectory(atPath: folder) } catch {
        throw ImagingError.unreadable(path: folder, reason: error.localizedDescription)
    }
    return all.filter { rel in
        let parts = rel.split(separator: "/")
        guard let last = parts.last, last.lowercased().hasSuffix(".png"),
              !parts.contains(where: { $0.hasPrefix(".") }) else { return false }
        var d: ObjCBool = false
        return fm.fileExists(atPath: folder + "/" + rel, isDirectory: &d) && !d.boolValue
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
