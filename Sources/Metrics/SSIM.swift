import Foundation
import Tensor

/// The local window SSIM averages over.
public enum SSIMWindow: Sendable, Equatable {
    /// Wang et al.'s 11x11 Gaussian window, sigma 1.5, with population covariance: the project's
    /// standard, equal to `skimage.metrics.structural_similarity(a, b, gaussian_weights=True, sigma=1.5,
    /// use_sample_covariance=False, data_range=1.0, channel_axis=-1)`.
    case gaussian
    /// scikit-image's default: a 7x7 uniform window with sample covariance (`N / (N - 1)`), equal to
    /// `structural_similarity(a, b, data_range=1.0, channel_axis=-1)` (the DLG anchors' "SSIM").
    case uniform7

    /// Normalised 1-D taps of the separable window.
    var taps: [Double] {
        switch self {
        case .gaussian:
            // scipy.ndimage.gaussian_filter: radius = int(truncate * sigma + 0.5) = int(3.5 * 1.5 + 0.5) = 5.
            let sigma = 1.5, radius = Int(3.5 * sigma + 0.5)
            let raw = (-radius...radius).map { exp(-0.5 * Double($0 * $0) / (sigma * sigma)) }
            let total = raw.reduce(0, +)
            return raw.map { $0 / total }
        case .uniform7:
            return [Double](repeating: 1.0 / 7.0, count: 7)
        }
    }

    /// Factor turning the windowed second moments into covariances.
    var covarianceNorm: Double {
        switch self {
        case .gaussian: return 1
        case .uniform7: return 49.0 / 48.0
        }
    }
}

/// Structural similarity of two CHW images, mean over channels (data range 1, K1 0.01, K2 0.03).
///
/// Both images are clamped to [0, 1] first (NaN as 0) and everything is computed in Double. The local
/// statistics are filtered with the separable window on the valid region only: scikit-image filters
/// the whole image (scipy's `mode='reflect'`) and then drops `(win_size - 1) / 2` pixels on each side of
/// the SSIM map before averaging, so the values it keeps never touch the border handling.
///
/// - Precondition: `height` and `width` are at least the window size (11 for `.gaussian`, 7 for
///   `.uniform7`), as in scikit-image.
public func ssim(_ a: [Float], _ b: [Float], channels: Int, height: Int, width: Int,
                 window: SSIMWindow = .gaussian) -> Double {
    let plane = height * width
    precondition(channels > 0 && a.count == channels * plane && b.count == a.count,
                 "ssim: \(a.count) and \(b.count) values for \(channels)x\(height)x\(width)")
    let taps = window.taps
    precondition(height >= taps.count && width >= taps.count,
                 "ssim: a \(height)x\(width) image is smaller than the \(taps.count)x\(taps.count) window")
    var total = 0.0
    for c in 0..<channels {
        let x = a[(c * plane)..<((c + 1) * plane)].map(clamped01)
        let y = b[(c * plane)..<((c + 1) * plane)].map(clamped01)
        total += ssimPlane(x, y, height: height, width: width, taps: taps, covNorm: window.covarianceNorm)
    }
    return total / Double(channels)
}

/// SSIM of two image tensors (`[C,H,W]` or `[1,C,H,W]`, same shape); see `ssim(_:_:channels:height:width:window:)`.
public func ssim(_ a: Tensor, _ b: Tensor, window: SSIMWindow = .gaussian) -> Double {
    let (va, vb, s) = imagePair(a, b)
    return ssim(va, vb, channels: s.channels, height: s.height, width: s.width, window: window)
}

/// Mean SSIM of one channel pair over the valid region.
func ssimPlane(_ x: [Double], _ y: [Double], height: Int, width: Int, taps: [Double], covNorm: Double) -> Double {
    let c1 = 0.01 * 0.01, c2 = 0.03 * 0.03
    let xx = zip(x, x).map { $0 * $1 }, yy = zip(y, y).map { $0 * $1 }, xy = zip(x, y).map { $0 * $1 }
    let mx = validFilter(x, height: height, width: width, taps: taps)
    let my = validFilter(y, height: height, width: width, taps: taps)
    let mxx = validFilter(xx, height: height, width: width, taps: taps)
    let myy = validFilter(yy, height: height, width: width, taps: taps)
    let mxy = validFilter(xy, height: height, width: width, taps: taps)
    var sum = 0.0
    for i in 0..<mx.count {
        let ux = mx[i], uy = my[i]
        let vx = covNorm * (mxx[i] - ux * ux)
        let vy = covNorm * (myy[i] - uy * uy)
        let vxy = covNorm * (mxy[i] - ux * uy)
        let num = (2 * ux * uy + c1) * (2 * vxy + c2)
        let den = (ux * ux + uy * uy + c1) * (vx + vy + c2)
        sum += num / den
    }
    return sum / Double(mx.count)
}

/// Separable correlation of an `height x width` plane with `taps` along both axes, kept only where the
/// window fits entirely: the result is `(height - k + 1) x (width - k + 1)`, k = `taps.count`.
func validFilter(_ p: [Double], height: Int, width: Int, taps: [Double]) -> [Double] {
    let k = taps.count
    let ow = width - k + 1, oh = height - k + 1
    var rows = [Double](repeating: 0, count: height * ow)
    var out = [Double](repeating: 0, count: oh * ow)
    p.withUnsafeBufferPointer { src in
        taps.withUnsafeBufferPointer { w in
            rows.withUnsafeMutableBufferPointer { tmp in
                for yy in 0..<height {
                    let row = src.baseAddress! + yy &* width
                    for xx in 0..<ow {
                        var acc = 0.0
                        for t in 0..<k { acc += w[t] * row[xx &+ t] }
                        tmp[yy &* ow &+ xx] = acc
                    }
                }
            }
            out.withUnsafeMutableBufferPointer { dst in
                rows.withUnsafeBufferPointer { tmp in
                    for yy in 0..<oh {
                        for xx in 0..<ow {
                            var acc = 0.0
                            for t in 0..<k { acc += w[t] * tmp[(yy &+ t) &* ow &+ xx] }
                            dst[yy &* ow &+ xx] = acc
                        }
                    }
                }
            }
        }
    }
    return out
}
