import Foundation
import Tensor

/// The layout of a CHW image: what the metric functions need to know about raw `[Float]` data.
public struct ImageShape: Equatable, Sendable, CustomStringConvertible {
    public var channels: Int
    public var height: Int
    public var width: Int

    public init(channels: Int, height: Int, width: Int) {
        self.channels = channels
        self.height = height
        self.width = width
    }

    /// The shape of a tensor `[C, H, W]` or `[1, C, H, W]`; any other shape is a programming error.
    public init(of tensor: Tensor) {
        let s = tensor.shape
        precondition(s.count == 3 || (s.count == 4 && s[0] == 1),
                     "metrics need an image tensor [C,H,W] or [1,C,H,W], got \(s)")
        self.init(channels: s[s.count - 3], height: s[s.count - 2], width: s[s.count - 1])
    }

    /// Number of values (`channels * height * width`).
    public var count: Int { channels * height * width }

    public var description: String { "\(channels)x\(height)x\(width)" }
}

/// Values as Double, clamped to [0, 1]; NaN counts as 0 (a diverged reconstruction scores as black,
/// instead of poisoning a mean with NaN).
@inline(__always) func clamped01(_ v: Float) -> Double {
    v.isNaN ? 0 : Double(Swift.min(Swift.max(v, 0), 1))
}


/// The values and shape of two image tensors, checked to have the same shape.
func imagePair(_ a: Tensor, _ b: Tensor) -> ([Float], [Float], ImageShape) {
    let sa = ImageShape(of: a), sb = ImageShape(of: b)
    precondition(sa == sb, "metrics: image shapes \(sa) and \(sb) differ")
    return (a.scalars, b.scalars, sa)
}
