import Foundation
import Imaging
import SafeIO

/// The image grids of a report: for every attack, the originals on top and one row of reconstructions
/// per defence setting, each row written as its own PNG strip (made with `ImageGrid`) so that the
/// Markdown can label it. The originals strip is shared by all attacks.
///
/// Columns are the first `maxColumns` samples in audit order (never chosen by how well they were
/// rebuilt). Cells are enlarged with nearest-neighbour sampling to about `cellSize` pixels
/// (a 32x32 crop becomes 128x128 by default); a `cellSize` below the image size shrinks the images
/// instead (area averaging). A missing reconstruction is a plain grey cell.
public struct ReportImages: Sendable {
    /// One labelled row of a grid.
    public struct Strip: Sendable, Equatable {
        /// PNG path relative to the report folder.
        public var path: String
        /// The setting this row shows (nil for the originals).
        public var setting: String?
    }

    /// The rows of one attack's grid (originals first).
    public struct Grid: Sendable, Equatable {
        public var attack: String
        public var strips: [Strip]
    }

    /// Default size of a cell on the page, in pixels.
    public static let defaultCellSize = 128
    /// The largest cell: 1024 px keeps a grid of `defaultMaxColumns` samples per row within a few MiB.
    public static let maximumCellSize = 1024
    /// Default number of samples shown per grid.
    public static let defaultMaxColumns = 6
    /// Grey of a cell without a reconstruction.
    static let missingGrey: Float = 0.82

    /// Samples shown, in order.
    public let shown: [ReportData.Sample]
    public let originals: Strip
    public let grids: [Grid]

    /// Writes the strips as PNG (0600) under `root/images/` (folders 0700) and describes them.
    /// - Throws: `ReportError.badImage` for a sample or reconstruction that is not a PNG,
    ///   `ReportError.writeFailed` when a file cannot be written.
    public init(_ data: ReportData, cellSize: Int = defaultCellSize, maxColumns: Int = defaultMaxColumns,
                writingTo root: String) throws {
        precondition(cellSize > 0 && maxColumns > 0, "ReportImages: cell size and columns must be positive")
        shown = Array(data.samples.sorted { $0.index < $1.index }.prefix(maxColumns))
        guard let first = shown.first else {
            originals = Strip(path: "", setting: nil)
            grids = []
            return
        }
        let decodedFirst = try Self.decode(first.png, what: "original \(first.index)")
        let (w, h) = (decodedFirst.width, decodedFirst.height)
        let scale = max(1, cellSize / max(w, h))
        let shrink = cellSize < max(w, h)
        func prepare(_ img: RGBImage) -> RGBImage {
            var out = img
            if img.width != w || img.height != h { out = img.resized(width: w, height: h, method: .interpolate) }
            if shrink {
                let f = Double(cellSize) / Double(max(w, h))
                out = out.resized(width: max(1, Int((Double(w) * f).rounded())),
                                  height: max(1, Int((Double(h) * f).rounded())), method: .area)
            }
            return out
        }
        func write(_ cells: [RGBImage], _ path: String) throws {
            let grid = ImageGrid(rows: [cells.map(prepare)], scale: shrink ? 1 : scale, gutter: 2)
            do {
                try ReportFiles.makePrivateDirectory((root as NSString).appendingPathComponent(PrivateFile.parentDirectory(of: path)))
                try grid.writePNG(to: (root as NSString).appendingPathComponent(path))
            } catch let e as ReportError { throw e } catch {
                throw ReportError.writeFailed("\(path): \(error)")
            }
        }

        let originalImages = try shown.map { try Self.decode($0.png, what: "original \($0.index)") }
        originals = Strip(path: "images/originals.png", setting: nil)
        try write(originalImages, originals.path)

        var recon: [String: Data] = [:]
        for r in data.reconstructions { recon["\(r.attack)\u{0}\(r.setting)\u{0}\(r.sample)"] = r.png }
        let grey = RGBImage(width: w, height: h, repeating: Self.missingGrey)
        var grids: [Grid] = []
        for (ai, attack) in data.attacks.enumerated() {
            var strips = [originals]
            for (si, setting) in data.settings.enumerated() where data.row(attack: attack.id, setting: setting.id) != nil {
                let blobs = shown.map { recon["\(attack.id)\u{0}\(setting.id)\u{0}\($0.index)"] }
                guard blobs.contains(where: { $0 != nil }) else { continue }
                let cells = try zip(shown, blobs).map { sample, blob in
                    try blob.map { try Self.decode($0, what: "reconstruction of sample \(sample.index) by \(attack.id) at \(setting.id)") } ?? grey
                }
                let path = "images/\(ai + 1)-\(Escaping.slug(attack.id))/\(si + 1)-\(Escaping.slug(setting.id)).png"
                try write(cells, path)
                strips.append(Strip(path: path, setting: setting.id))
            }
            if strips.count > 1 { grids.append(Grid(attack: attack.id, strips: strips)) }
        }
        self.grids = grids
    }

    static func decode(_ png: Data, what: String) throws -> RGBImage {
        do { return try RGBImage(pngData: [UInt8](png), name: what) } catch {
            throw ReportError.badImage("\(what): \(error)")
        }
    }
}
