import Foundation

/// A contact sheet: equal-size images in rows and columns on a white background, for reports
/// (originals next to reconstructions, one row per defence level, ...).
///
/// Cells are separated, and framed, by a white gutter (2 px by default), like torchvision's
/// `make_grid(padding=2, pad_value=1)`. Images can be enlarged by an integer factor with nearest-neighbour
/// sampling so that 32x32 reconstructions stay crisp. Rows shorter than the longest row leave white cells.
public struct ImageGrid: Sendable {
    /// The images, row by row.
    public var rows: [[RGBImage]]
    /// Integer enlargement of every image (nearest neighbour), at least 1.
    public var scale: Int
    /// White space between cells and around the grid, in output pixels.
    public var gutter: Int

    /// A grid with the given rows.
    public init(rows: [[RGBImage]], scale: Int = 1, gutter: Int = 2) {
        precondition(scale >= 1 && gutter >= 0, "ImageGrid: scale \(scale), gutter \(gutter)")
        self.rows = rows
        self.scale = scale
        self.gutter = gutter
    }

    /// A grid that fills rows of `columns` images in order (the last row may be shorter).
    public init(images: [RGBImage], columns: Int, scale: Int = 1, gutter: Int = 2) {
        precondition(columns >= 1, "ImageGrid: \(columns) columns")
        let rows = stride(from: 0, to: images.count, by: columns).map {
            Array(images[$0..<min($0 + columns, images.count)])
        }
        self.init(rows: rows, scale: scale, gutter: gutter)
    }

    /// Composes the grid into one image (values clamped to [0, 1]).
    /// - Throws: `ImagingError.wrongSize` if the grid holds no image or the images differ in size.
    public func render() throws -> RGBImage {
        guard let first = rows.lazy.compactMap(\.first).first else {
            throw ImagingError.wrongSize(subject: "image grid", expected: "at least one image", actual: "none")
        }
        let (w, h) = (first.width, first.height)
        for (r, row) in rows.enumerated() {
            for (c, img) in row.enumerated() where img.width != w || img.height != h {
                throw ImagingError.wrongSize(subject: "image grid cell (row \(r), column \(c))",
                                             expected: "\(w)x\(h)", actual: "\(img.width)x\(img.height)")
            }
        }
        let columns = rows.map(\.count).max() ?? 0
        let cw = w * scale, ch = h * scale
        let outW = columns * cw + (columns + 1) * gutter
        let outH = rows.count * ch + (rows.count + 1) * gutter
        var out = [Float](repeating: 1, count: 3 * outW * outH)
        let outPlane = outW * outH, inPlane = w * h
        out.withUnsafeMutableBufferPointer { dst in
            for (r, row) in rows.enumerated() {
                for (c, img) in row.enumerated() {
                    let x0 = gutter + c * (cw + gutter), y0 = gutter + r * (ch + gutter)
                    img.pixels.withUnsafeBufferPointer { src in
                        for k in 0..<3 {
                            for y in 0..<ch {
                                let srow = k * inPlane + (y / scale) * w
                                let drow = k * outPlane + (y0 + y) * outW + x0
                                for x in 0..<cw { dst[drow + x] = RGBImage.clamp01(src[srow + x / scale]) }
                            }
                        }
                    }
                }
            }
        }
        return RGBImage(width: outW, height: outH, pixels: out)
    }

    /// Renders the grid and writes it as an 8-bit RGB PNG with mode 0600 (see `RGBImage.writePNG(to:)`).
    public func writePNG(to path: String) throws {
        try render().writePNG(to: path)
    }
}
