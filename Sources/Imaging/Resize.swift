import Foundation

/// How `RGBImage.resized(width:height:method:)` computes the new pixels.
public enum ResizeMethod: String, Codable, Sendable, CaseIterable {
    /// Box (area) averaging: each output pixel is the mean of the input area it covers, pixels cut by the
    /// box edge weighted by the covered fraction. For shrinking this is OpenCV's `INTER_AREA` (and PIL's
    /// `BOX`); an integer factor gives exact block means. Enlarging uses the same overlap rule (like PIL's
    /// `BOX`, which repeats pixels), where OpenCV would switch to bilinear.
    case area
    /// PyTorch's `F.interpolate(mode="bilinear", align_corners=False)` without antialiasing: source
    /// coordinate `(dst + 0.5) * in / out - 0.5`, clamped at 0, neighbours clamped at the last pixel.
    case interpolate
    /// PIL's `Image.resize(..., BILINEAR)`, which torchvision's `Resize` runs on PIL images: a triangle filter
    /// widened by the scale when shrinking (antialiased), on 8-bit values with PIL's fixed-point arithmetic and
    /// rounding after each pass, so an 8-bit source gives PIL's bytes exactly.
    case bilinear
    /// PIL's `LANCZOS` (a = 3), computed the same way.
    case lanczos
}

extension RGBImage {
    /// A copy resized to `width x height` (both at least 1).
    public func resized(width newWidth: Int, height newHeight: Int, method: ResizeMethod = .area) -> RGBImage {
        precondition(newWidth > 0 && newHeight > 0, "resized: size \(newWidth)x\(newHeight) is empty")
        if newWidth == width && newHeight == height { return self }
        if method == .bilinear || method == .lanczos { return pilResized(width: newWidth, height: newHeight, lanczos: method == .lanczos) }
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
    case .bilinear, .lanczos:
        preconditionFailure("PIL's filters run in pilResized")
    case .interpolate:
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

// MARK: PIL's resampling (Resample.c), 8-bit fixed point

extension RGBImage {
    /// PIL's `convert('L')` (ITU-R 601-2 luma in PIL's integer form, (19595 R + 38470 G + 7471 B + 2^15) >> 16 on
    /// 8-bit values) in all three channels: what a 1-channel model sees of this image.
    public func grayscale() -> RGBImage {
        let n = planeSize
        // A gray image (every pixel's channels equal: a gray PNG, a windowed DICOM frame) is its own luma: the
        // weights sum to 65536, so for 8-bit values this is exactly PIL's result, and finer levels (16-bit
        // sources) are kept instead of rounded to 8 bits.
        if pixels.withUnsafeBufferPointer({ p in (0..<n).allSatisfy { p[$0] == p[n + $0] && p[$0] == p[2 * n + $0] } }) {
            return self
        }
        let b = pixels.map { Int(($0 * 255).rounded()).clamped(0, 255) }
        var out = [Float](repeating: 0, count: 3 * n)
        for i in 0..<n {
            let l = Float((b[i] * 19595 + b[n + i] * 38470 + b[2 * n + i] * 7471 + 0x8000) >> 16) / 255
            out[i] = l; out[n + i] = l; out[2 * n + i] = l
        }
        return RGBImage(width: width, height: height, pixels: out)
    }

    /// PIL's two-pass resize of an 8-bit image: horizontal pass (rounded to bytes), then vertical.
    func pilResized(width newWidth: Int, height newHeight: Int, lanczos: Bool) -> RGBImage {
        var bytes = pixels.map { UInt8(clamping: Int(($0 * 255).rounded())) }
        var w = width, h = height
        if newWidth != w {
            let (bounds, kk) = pilCoefficients(from: w, to: newWidth, lanczos: lanczos)
            var out = [UInt8](repeating: 0, count: 3 * h * newWidth)
            for row in 0..<(3 * h) {
                for x in 0..<newWidth {
                    let (lo, n) = bounds[x]
                    var ss = 1 << 21
                    for k in 0..<n { ss += Int(bytes[row * w + lo + k]) * kk[x][k] }
                    out[row * newWidth + x] = UInt8(clamping: ss >> 22)
                }
            }
            bytes = out; w = newWidth
        }
        if newHeight != h {
            let (bounds, kk) = pilCoefficients(from: h, to: newHeight, lanczos: lanczos)
            var out = [UInt8](repeating: 0, count: 3 * newHeight * w)
            for c in 0..<3 {
                for y in 0..<newHeight {
                    let (lo, n) = bounds[y]
                    for x in 0..<w {
                        var ss = 1 << 21
                        for k in 0..<n { ss += Int(bytes[(c * h + lo + k) * w + x]) * kk[y][k] }
                        out[(c * newHeight + y) * w + x] = UInt8(clamping: ss >> 22)
                    }
                }
            }
            bytes = out; h = newHeight
        }
        return RGBImage(width: w, height: h, pixels: bytes.map { Float($0) / 255 })
    }
}

/// PIL's `precompute_coeffs` and `normalize_coeffs_8bpc`: per output index, the first input index and the
/// tap count, and the taps in fixed point (22 fractional bits).
func pilCoefficients(from inSize: Int, to outSize: Int, lanczos: Bool) -> ([(Int, Int)], [[Int]]) {
    func filter(_ x: Double) -> Double {
        if lanczos {
            func sinc(_ v: Double) -> Double { v == 0 ? 1 : sin(.pi * v) / (.pi * v) }
            return (-3 <= x && x < 3) ? sinc(x) * sinc(x / 3) : 0
        }
        let a = Swift.abs(x)
        return a < 1 ? 1 - a : 0
    }
    let scale = Double(inSize) / Double(outSize)
    let filterScale = max(scale, 1)
    let support = (lanczos ? 3.0 : 1.0) * filterScale
    var bounds: [(Int, Int)] = [], taps: [[Int]] = []
    for xx in 0..<outSize {
        let center = (Double(xx) + 0.5) * scale
        let ss = 1 / filterScale
        let xmin = max(Int(center - support + 0.5), 0)
        let xmax = min(Int(center + support + 0.5), inSize) - xmin
        var k = (0..<max(xmax, 0)).map { filter((Double($0 + xmin) - center + 0.5) * ss) }
        let ww = k.reduce(0, +)
        if ww != 0 { k = k.map { $0 / ww } }
        bounds.append((xmin, max(xmax, 0)))
        taps.append(k.map { v in
            let f = v * Double(1 << 22)
            return v < 0 ? Int(-0.5 + f) : Int(0.5 + f)
        })
    }
    return (bounds, taps)
}

extension Int {
    fileprivate func clamped(_ lo: Int, _ hi: Int) -> Int { Swift.min(Swift.max(self, lo), hi) }
}
