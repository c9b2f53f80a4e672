import Foundation
import Imaging
import Tensor

/// The labelled images an audit may draw from: an ImageFolder or an explicit list.
public struct DataPool: Sendable {
    /// One image of the pool.
    public struct Item: Sendable, Equatable {
        /// Path on disk.
        public let path: String
        /// Path as recorded in the audit log: relative to the ImageFolder root, or as written in the file.
        public let name: String
        public let label: Int
    }

    public let items: [Item]
    /// Class names (folder names, or "class <k>" for listed images).
    public let classes: [String]

    /// Opens the data section of `definition`.
    public init(_ definition: AuditDefinition) throws {
        let data = definition.data
        if let folder = data.folder {
            let f: ImageFolder
            do { f = try ImageFolder(root: definition.resolve(folder)) } catch { throw AuditError.input("data.folder: \(error)") }
            items = f.samples.map { Item(path: $0.path, name: $0.relativePath, label: $0.label) }
            classes = f.classes
        } else {
            let list = data.images ?? []
            items = list.map { Item(path: definition.resolve($0.path), name: $0.path, label: $0.label) }
            let k = (list.map(\.label).max() ?? 0) + 1
            classes = (0..<k).map { "class \($0)" }
        }
    }

    /// Class folder names of an ImageFolder (for defaults during parsing).
    static func classNames(folder: String) throws -> [String] { try ImageFolder(root: folder).classes }

    /// Number of images in an ImageFolder.
    static func countImages(folder: String) throws -> Int { try ImageFolder(root: folder).count }

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
                var img = try RGBImage(path: items[i].path)
                if channels == 1 { img = img.grayscale() }
                data += img.fitted(size: size, method: method).pixels.prefix(channels * size * size)
            } catch {
                throw AuditError.input("\(error)")
            }
        }
        return Tensor(shape: [indices.count, channels, size, size], data: data)
    }
}
