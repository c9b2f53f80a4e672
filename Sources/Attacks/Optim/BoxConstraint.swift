import Foundation

/// Keeps some coordinates of the flat parameter vector inside `[lower, upper]` (Inverting Gradients'
/// `boxed` option: `x = max(min(x, upper), lower)` after every step).
///
/// Use one constraint per block, e.g. the image part `0..<imageCount` of a DLG vector, leaving the
/// label logits free, or one per channel for normalised images.
public struct BoxConstraint: Sendable, Equatable, Codable {
    /// Lowest allowed value.
    public var lower: Double
    /// Highest allowed value.
    public var upper: Double
    /// Coordinates it applies to; `nil`: all of them.
    public var indices: Range<Int>?

    public init(lower: Double, upper: Double, indices: Range<Int>? = nil) {
        self.lower = lower
        self.upper = upper
        self.indices = indices
    }

    /// The unit box `[0, 1]` of images without normalisation.
    public static func unit(indices: Range<Int>? = nil) -> BoxConstraint {
        BoxConstraint(lower: 0, upper: 1, indices: indices)
    }

    /// Clamps `x` in place: `min` with `upper` first, then `max` with `lower`, as torch's
    /// `torch.max(torch.min(x, upper), lower)`.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    func apply<Scalar: BinaryFloatingPoint>(to x: inout [Scalar]) {
        let lo = Scalar(lower), hi = Scalar(upper)
        let range = indices ?? 0..<x.count
        precondition(range.lowerBound >= 0 && range.upperBound <= x.count,
                     "BoxConstraint: indices \(range) outside 0..<\(x.count)")
        x.withUnsafeMutableBufferPointer { p in
            for i in range {
                let v = p[i] < hi ? p[i] : hi
                p[i] = v > lo ? v : lo
            }
        }
    }
}
