import Foundation
import Imaging
import Tensor

/// A labelled image set held in memory for federated simulation: pixels in [0, 1] (NCHW), labels, and
/// each image's source (the scan it was cut from), so splits can keep one source on one side.
/// `@unchecked Sendable`: safe because it holds read-only tensors (see `Tensor`) and value arrays in `let`s.
public struct FederatedDataset: @unchecked Sendable {
    /// Class names in label order.
    public let classes: [String]
    /// Shape of one image, [C, H, W].
    public let imageShape: [Int]
    /// Label of every image.
    public let labels: [Int]
    /// Source of every image (`ImageFolder.source(of:)`: the manifest's `source_path`, or the file itself).
    public let sources: [String]
    /// Identifier of every image (relative path in its folder).
    public let names: [String]
    /// All pixels, image after image.
    let pixels: [Float]

    /// In-memory data; `pixels` holds `labels.count` images of `imageShape` one after another.
    public init(classes: [String], imageShape: [Int], labels: [Int], sources: [String], names: [String], pixels: [Float]) {
        let per = imageShape.reduce(1, *)
        precondition(labels.count == sources.count && labels.count == names.count && pixels.count == labels.count * per,
                     "FederatedDataset: \(labels.count) labels, \(sources.count) sources, \(names.count) names, "
                     + "\(pixels.count) pixels for images of \(imageShape)")
        precondition(labels.allSatisfy { (0..<classes.count).contains($0) }, "FederatedDataset: a label is outside 0..<\(classes.count)")
        self.classes = classes
        self.imageShape = imageShape
        self.labels = labels
        self.sources = sources
        self.names = names
        self.pixels = pixels
    }

    /// Reads every image of `folder`, fitted to `size x size` RGB.
    public init(folder: ImageFolder, size: Int) throws {
        var pixels: [Float] = []
        pixels.reserveCapacity(folder.count * 3 * size * size)
        for i in 0..<folder.count { pixels += try folder.load(i, size: size).pixels }
        self.init(classes: folder.classes, imageShape: [3, size, size], labels: folder.labels,
                  sources: (0..<folder.count).map { folder.source(of: $0) },
                  names: folder.samples.map(\.relativePath), pixels: pixels)
    }

    /// Number of images.
    public var count: Int { labels.count }

    /// The images at `indices` as one [B, C, H, W] tensor, with their labels.
    public func batch(_ indices: [Int]) -> (images: Tensor, labels: [Int]) {
        let per = imageShape.reduce(1, *)
        var data = [Float]()
        data.reserveCapacity(indices.count * per)
        for i in indices { data.append(contentsOf: pixels[(i * per)..<((i + 1) * per)]) }
        return (Tensor(shape: [indices.count] + imageShape, data: data), indices.map { labels[$0] })
    }
}
