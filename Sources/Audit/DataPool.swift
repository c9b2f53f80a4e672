import Foundation
import Imaging
import Tensor

/// The labelled images an audit may draw from: an ImageFolder, a folder of files with a labels CSV, or an
/// explicit list; PNG or DICOM (`ImageReader`), decoded with the data section's window and frames.
public struct DataPool: Sendable {
    /// One image of the pool.
    public struct Item: Sendable, Equatable {
        /// Path on disk.
        public let path: String
        /// Name as recorded in the audit log: the path relative to the data root (with `#frame` for one frame of
        /// a multi-frame file read with `frames: all`), or the path as written in the audit file. Never a DICOM
        /// attribute value.
        public let name: String
        public let label: Int
        /// The 0-based frame when every frame of the file is its own image, else nil.
        public var frame: Int? = nil
        /// What the image was cut from (a manifest's `source_path`, else the file): images of one source stay
        /// on one side of every train/test split.
        public var source: String = ""
    }

    public let items: [Item]
    /// Class names (folder names, the labels CSV's classes, or "class <k>" for listed images).
    public let classes: [String]
    /// How files are decoded.
    public let options: ImageReadOptions
    /// Files left out because they could not be read (`skip_unreadable: true`), by name, in data order.
    public let skipped: [String]

    /// Opens the data section of `definition`. Every file is decoded once first: unreadable ones stop the audit
    /// here, before any work (the first few named, then a count), unless `skip_unreadable` is set.
    public init(_ definition: AuditDefinition) throws {
        let data = definition.data
        options = data.readOptions
        var all: [Item]
        if data.folder != nil {
            let f: ImageFolder
            do { f = try Self.folder(data, resolve: definition.resolve) } catch { throw AuditError.input("\(error)") }
            all = f.samples.indices.map { i in
                let s = f.samples[i]
                return Item(path: s.path, name: s.name, label: s.label, frame: s.frame, source: f.source(of: i))
            }
            classes = f.classes
        } else {
            let list = data.images ?? []
            all = list.map { Item(path: definition.resolve($0.path), name: $0.path, label: $0.label, source: $0.path) }
            let k = (list.map(\.label).max() ?? 0) + 1
            classes = (0..<k).map { "class \($0)" }
        }
        let bad = ImageReader.unreadable(all.map { ($0.name, $0.path) }, options: options)
        let badPaths = Set(bad.map(\.path))
        if !bad.isEmpty && data.skipUnreadable != true {
            let first = bad.prefix(3).map(\.reason).joined(separator: "; ")
            let more = bad.count > 3 ? "; and \(bad.count - 3) more" : ""
            throw AuditError.input("\(bad.count) unreadable file\(bad.count == 1 ? "" : "s") (set skip_unreadable: true to leave them out): \(first)\(more)")
        }
        skipped = bad.map(\.name)
        items = all.filter { !badPaths.contains($0.path) }
        if items.isEmpty { throw AuditError.input("no readable image is left") }
    }

    /// The data section's folder: an ImageFolder, or files with a labels CSV.
    static func folder(_ data: DataSection, resolve: (String) -> String) throws -> ImageFolder {
        let root = resolve(data.folder!)
        if let labels = data.labels {
            return try ImageFolder(root: root, labels: resolve(labels), labelColumn: data.labelColumn,
                                   classes: data.classes, options: data.readOptions)
        }
        return try ImageFolder(root: root, options: data.readOptions)
    }

    /// Class names of the data's folder (for defaults during parsing).
    static func classNames(_ d: DataSection, resolve: (String) -> String) throws -> [String] {
        try folder(d, resolve: resolve).classes
    }

    /// Number of images in the data's folder.
    static func countImages(_ d: DataSection, resolve: (String) -> String) throws -> Int {
        try folder(d, resolve: resolve).count
    }

    /// The SHA-256 the audit log records for an item: of the file for a PNG (as since the first log format), of
    /// the decoded pixels otherwise (a DICOM file's bytes include patient attributes; its pixels, decoded and
    /// windowed as the audit reads them, as little-endian Float32 planes, do not).
    public func digest(_ i: Int) throws -> String {
        let it = items[i]
        if try ImageFormat.of(path: it.path) == .png { return try SHA256Digest.hex(ofFile: it.path) }
        let img = try ImageReader.image(path: it.path, frame: it.frame, options: options)
        var bytes = [UInt8]()
        bytes.reserveCapacity(img.pixels.count * 4)
        for v in img.pixels { withUnsafeBytes(of: v.bitPattern.littleEndian) { bytes.append(contentsOf: $0) } }
        return SHA256Digest.hex(bytes)
    }

    /// `count` image indices spread evenly over the classes: round-robin over the classes, each class's
    /// images in a seeded random order. Deterministic for a given seed.
    public func selectEvenly(count: Int, seed: UInt64) -> [Int] {
        var rng = SeededGenerator(seed: seed).derived("select")
        return Imaging.selectEvenly(labels: items.map(\.label), count: count, rng: &rng)
    }

    /// `count` indices drawn at random (seeded) from the pool, never any in `excluding`.
    public func draw(_ count: Int, excluding: Set<Int>, rng: inout SeededGenerator) -> [Int] {
        var rest = items.indices.filter { !excluding.contains($0) }
        rest.shuffle(using: &rng)
        return Array(rest.prefix(count))
    }

    /// Reads items as one [N, C, size, size] tensor (each image fitted to `size` by `method`; a 1-channel
    /// model gets the luma, PIL's convert('L') taken before resizing, as torchvision's Grayscale then Resize).
    public func load(_ indices: [Int], size: Int, channels: Int = 3, method: ResizeMethod = .area) throws -> Tensor {
        var data: [Float] = []
        data.reserveCapacity(indices.count * channels * size * size)
        for i in indices {
            do {
                var img = try ImageReader.image(path: items[i].path, frame: items[i].frame, options: options)
                if channels == 1 { img = img.grayscale() }
                data += img.fitted(size: size, method: method).pixels.prefix(channels * size * size)
            } catch {
                throw AuditError.input("\(error)")
            }
        }
        return Tensor(shape: [indices.count, channels, size, size], data: data)
    }
}
