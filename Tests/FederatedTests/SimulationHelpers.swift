import Foundation
import XCTest
import Imaging
import NN
import Tensor
@testable import Federated

/// The bundled real sample (data/medical-sample/32), loaded once at `size` x `size`.
enum Sample {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../data/medical-sample/32").standardized.path

    static let full: FederatedDataset = try! FederatedDataset(folder: ImageFolder(root: root), size: 32)
    /// The same images at 8 x 8 (fast training in debug builds).
    static let small: FederatedDataset = try! FederatedDataset(folder: ImageFolder(root: root), size: 8)
}

/// A synthetic data set: `perClass` images per class, each its own source unless `sharedSources` groups
/// consecutive images of a class `sharedSources` at a time.
func syntheticDataset(classes: Int, perClass: Int, sharedSources: Int = 1, side: Int = 4, seed: UInt64 = 1) -> FederatedDataset {
    var rng = SeededGenerator(seed: seed)
    var labels: [Int] = [], sources: [String] = [], names: [String] = [], pixels: [Float] = []
    for c in 0..<classes {
        for i in 0..<perClass {
            labels.append(c)
            sources.append("c\(c)-s\(i / sharedSources)")
            names.append("c\(c)/\(i).png")
            pixels += (0..<(3 * side * side)).map { _ in rng.uniform() }
        }
    }
    return FederatedDataset(classes: (0..<classes).map { "class\($0)" }, imageShape: [3, side, side], labels: labels,
                            sources: sources, names: names, pixels: pixels)
}

/// A tiny MLP for `dataset`'s images.
func tinyMLP(_ dataset: FederatedDataset, hidden: Int = 16) -> Model {
    try! ModelZoo.make("mlp", classes: dataset.classes.count, size: dataset.imageShape[1], hidden: hidden)
}
