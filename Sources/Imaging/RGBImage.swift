import Foundation
import Tensor

/// A 3-channel floating-point image in channel-major (CHW) order, values in [0, 1].
///
/// `pixels[c * height * width + y * width + x]` is channel `c` (0 red, 1 green, 2 blue) of the pixel in
/// row `y`, column `x`: the layout of one PyTorch image tensor. Reading (`init(path:)`) and writing
/// (`writePNG(to:)`) live in `RGBImage+PNG.swift`, resizing and cropping in `Resize.swift`.
public struct RGBImage: Sendable, Equatable {
    /// Number of channels; always 3.
    public static let channels = 3

    public var width: Int
    public var height: Int
    /// `3 * height * width` values, CHW.
    public var pixels: [Float]

    /// An image from CHW values (`pixels.count` must be `3 * width * height`).
    public init(width: Int, height: Int, pixels: [Float]) {
        precondition(width > 0 && height > 0, "RGBImage: size \(width)x\(height) is empty")
        precondition(pixels.count == 3 * width * height,
                     "RGBImage: \(pixels.count) values do not fill 3x\(height)x\(width)")
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// An image with every channel of every pixel set to `value`.
    public init(width: Int, height: Int, repeating value: Float) {
        self.init(width: width, height: height, pixels: [Float](repeating: value, count: 3 * width * height))
    }

    /// An image from a tensor of shape `[C, H, W]` or `[1, C, H, W]` with C = 3 (RGB) or 1 (gray, shown in
    /// all three channels).
    ///
    /// Values are clamped to [0, 1] and NaN becomes 0, so any reconstruction can be shown or saved.
    /// Any other shape is a programming error (precondition failure).
    public init(tensor: Tensor) {
        let s = tensor.shape
        let c = s.count == 3 ? s[0] : (s.count == 4 && s[0] == 1 ? s[1] : 0)
        precondition(c == 3 || c == 1, "RGBImage(tensor:) needs shape [C,H,W] or [1,C,H,W] with C 1 or 3, got \(s)")
        let h = s[s.count - 2], w = s[s.count - 1]
        let values = tensor.withUnsafeBufferPointer { buf in buf.map(RGBImage.clamp01) }
        self.init(width: w, height: h, pixels: c == 3 ? values : values + values + values)
    }

    /// The image as a tensor of shape `[1, 3, height, width]` (a batch of one).
    public func tensor() -> Tensor {
        Tensor(shape: [1, 3, height, width], data: pixels)
    }

    /// Number of values per channel (`width * height`).
    public var planeSize: Int { width * height }

    /// Value of channel `c` at row `y`, column `x`.
    @inlinable public subscript(c: Int, y: Int, x: Int) -> Float {
        get { pixels[(c * height + y) * width + x] }
        set { pixels[(c * height + y) * width + x] = newValue }
    }

    /// A copy with every value clamped to [0, 1] (NaN becomes 0).
    public func clamped() -> RGBImage {
        RGBImage(width: width, height: height, pixels: pixels.map(RGBImage.clamp01))
    }

    /// `v` limited to [0, 1]; NaN maps to 0.
    @inlinable public static func clamp01(_ v: Float) -> Float {
        v.isNaN ? 0 : Swift.min(Swift.max(v, 0), 1)
    }
}
