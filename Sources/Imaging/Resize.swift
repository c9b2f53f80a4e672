import Foundation

/// How `RGBImage.resized(width:height:method:)` computes the new pixels.
public enum ResizeMethod: String, Sendable, CaseIterable {
    /// Box (area) averaging: each output pixel is the mean of the input area it covers, pixels cut by the
    /// box edge weighted by the covered fraction. For shrinking this is OpenCV's `INTER_AREA` (and PIL's
    /// `BOX`); an integer factor gives exact block means. Enlarging uses the same overlap rule (like PIL's
    /// `BOX`, which repeats pixels), where OpenCV would switch to bilinear.
    case area
    /// PyTorch's `F.interpolate(mode="bilinear", align_corners=False)` without antialiasing: source
    /// coordinate `(dst + 0.5) * in / out - 0.5`, clamped at 0, neighbours clamped at the last pixel.
    case bilinear
}

extension RGBImage {
    /// A copy resized to `width x height` (both at least 1).
    public func resized(width newWidth: Int, height newHeight: Int, method: ResizeMethod = .area) -> RGBImage {
        precondition(newWidth > 0 && newHeight > 0, "resized: size \(newWidth)x\(newHeight) is empty")
        if newWidth == width && newHeight == height { return self }
        let wx = axisWeights(from: width, to: newWidth, method: method)
        let wy = axisWeights(from: height, to: newHeight, method: method)
        var tmp = [Double](repeating: 0, count: 3 * height * newWidth)
        var out = [Float](repeating: 0, count: 3 * newHeight * newWidth)
        pixels.withUnsafeBufferPointer { src in
            tmp.withUnsafeMutableBufferPointer { t in
                for row in 0..<(3 * height) {               // every row of every channel
                    let s = src.baseAddress! + row &* width
                    let d = t.baseAddress! + row &* newWidth
                    for (ox, taps) in wx.enumerated() {
                        var acc = 0.0
                        for (x, w) in taps { acc += w * Double(s[x]) }
                        d[ox] = acc
                    }
                }
            }
            tmp.withUnsafeBufferPointer { t in
                out.withUnsafeMutableBufferPointer { o in
                    for c in 0..<3 {
                        let tc = t.baseAddress! + c &* height &* newWidth
                        let oc = o.baseAddress! + c &* newHeight &* newWidth
                        for (oy, taps) in wy.enumerated() {
                            for ox in 0..<newWidth {
                                var acc = 0.0
                                for (y, w) in taps { acc += w * tc[y &* newWidth &+ ox] }
                                oc[oy &* newWidth &+ ox] = Float(acc)
                            }
                        }
                    }
                }
            }
        }
        return RGBImage(width: newWidth, height: newHeight, pixels: out)
    }

    /// The centred `width x height` region, placed like torchvision's `CenterCrop`
    /// (offset `round((size - crop) / 2)`, halves rounded to even).
    /// - Precondition: the crop is no larger than the image.
    public func centerCropped(width cw: Int, height ch: Int) -> RGBImage {
        precondition(cw > 0 && ch > 0 && cw <= width && ch <= height,
                     "centerCropped: \(cw)x\(ch) does not fit in \(width)x\(height)")
        if cw == width && ch == height { return self }
        let top = Int((Double(height - ch) / 2).rounded(.toNearestOrEven))
        let left = Int((Double(width - cw) / 2).rounded(.toNearestOrEven))
        var out = [Float]()
        out.reserveCapacity(3 * cw * ch)
        for c in 0..<3 {
            for y in top..<(top + ch) {
                let base = (c * height + y) * width
                out.append(contentsOf: pixels[(base + left)..<(base + left + cw)])
            }
        }
        return RGBImage(width: cw, height: ch, pixels: out)
    }

    /// Resizes so that the shorter side equals `size` (the longer side becomes
    /// `Int(size * long / short)`, as torchvision's `Resize(size)`), then centre-crops to `size x size`.
    /// An image that is already `size x size` is returned unchanged.
    public func fitted(size: Int, method: ResizeMethod = .area) -> RGBImage {
        precondition(size > 0, "fitted: size \(size) is empty")
        if width == size && height == size { return self }
        let (w, h): (Int, Int)
        if width <= height {
            (w, h) = (size, Int(Double(size) * Double(height) / Double(width)))
        } else {
            (w, h) = (Int(Double(size) * Double(width) / Double(height)), size)
        }
        return resized(width: w, height: h, method: method).centerCropped(width: size, height: size)
    }
}

/// For each output index along one axis, the input indices and weights that make it.
func axisWeights(from n: Int, to m: Int, method: ResizeMethod) -> [[(Int, Double)]] {
    switch method {
    case .area:
        // In units of 1/m input pixels: output i covers [i*n, (i+1)*n), input j covers [j*m, (j+1)*m).
        // Integer arithmetic keeps integer factors exact.
        return (0..<m).map { i in
            let start = i * n, end = (i + 1) * n
            return (start / m...((end - 1) / m)).compactMap { j in
                let overlap = min(end, (j + 1) * m) - max(start, j * m)
                return overlap > 0 ? (j, Double(overlap) / Double(n)) : nil
            }
        }
    case .bilinear:
        // Float arithmetic as in PyTorch's CPU kernel (area_pixel_compute_source_index).
        let scale = Float(n) / Float(m)
        return (0..<m).map { i in
            let src = max(scale * (Float(i) + 0.5) - 0.5, 0)
            let i0 = min(Int(src), n - 1)
            let i1 = i0 < n - 1 ? i0 + 1 : i0
            let l1 = src - Float(i0)
            return i1 == i0 ? [(i0, 1.0)] : [(i0, Double(1 - l1)), (i1, Double(l1))]
        }
    }
}
