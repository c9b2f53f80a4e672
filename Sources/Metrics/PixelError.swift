import Foundation
import Tensor

/// Mean squared error over all pixels and channels, after clamping both images to [0, 1].
///
/// - Parameters: `a`, `b`: images with the same number of values (any layout; CHW in this project).
public func mse(_ a: [Float], _ b: [Float]) -> Double {
    precondition(a.count == b.count, "mse: images have \(a.count) and \(b.count) values")
    precondition(!a.isEmpty, "mse: empty images")
    var sum = 0.0
    a.withUnsafeBufferPointer { pa in
        b.withUnsafeBufferPointer { pb in
            for i in 0..<pa.count {
                let d = clamped01(pa[i]) - clamped01(pb[i])
                sum += d * d
            }
        }
    }
    return sum / Double(a.count)
}

/// Mean squared error of two image tensors (`[C,H,W]` or `[1,C,H,W]`, same shape).
public func mse(_ a: Tensor, _ b: Tensor) -> Double {
    let (va, vb, _) = imagePair(a, b)
    return mse(va, vb)
}

/// Peak signal-to-noise ratio in dB for data range 1: `10 log10(1 / MSE)`; `+infinity` when the
/// clamped images are identical.
public func psnr(_ a: [Float], _ b: [Float]) -> Double {
    psnr(mse: mse(a, b))
}

/// PSNR of two image tensors (`[C,H,W]` or `[1,C,H,W]`, same shape).
public func psnr(_ a: Tensor, _ b: Tensor) -> Double {
    psnr(mse: mse(a, b))
}

/// PSNR in dB from a mean squared error on [0, 1] data (`+infinity` for 0).
public func psnr(mse: Double) -> Double {
    mse == 0 ? .infinity : 10 * log10(1 / mse)
}
