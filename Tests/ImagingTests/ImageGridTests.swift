import XCTest
@testable import Imaging

/// Contact sheets for reports.
final class ImageGridTests: XCTestCase {
    func testLayoutScaleAndGutter() throws {
        // Five 2x1 images, three columns, enlarged 2x: 3*4 + 4*2 = 20 wide, 2*2 + 3*2 = 10 high.
        let images = (0..<5).map { i in
            RGBImage(width: 2, height: 1, pixels: [0.1 * Float(i), 0.05, 0, 0, 0.5, 0.5])
        }
        let grid = try ImageGrid(images: images, columns: 3, scale: 2).render()
        XCTAssertEqual(grid.width, 20); XCTAssertEqual(grid.height, 10)
        // Gutter and the empty sixth cell are white.
        XCTAssertEqual(grid[0, 0, 0], 1); XCTAssertEqual(grid[2, 1, 5], 1)
        XCTAssertEqual(grid[0, 7, 16], 1)
        // Image 4 (row 1, column 1) starts at x = 2 + 6 = 8, y = 2 + 4 = 6; nearest neighbour 2x.
        for (y, x) in [(6, 8), (6, 9), (7, 8), (7, 9)] { XCTAssertEqual(grid[0, y, x], 0.4, accuracy: 1e-7) }
        for (y, x) in [(6, 10), (7, 11)] { XCTAssertEqual(grid[0, y, x], 0.05, accuracy: 1e-7) }
        XCTAssertEqual(grid[2, 7, 11], 0.5)
    }

    func testRowsAndErrors() throws {
        let a = RGBImage(width: 3, height: 3, repeating: 0.25)
        let g = try ImageGrid(rows: [[a], [a, a]]).render()
        XCTAssertEqual(g.width, 2 * 3 + 3 * 2); XCTAssertEqual(g.height, 2 * 3 + 3 * 2)
        XCTAssertEqual(g[1, 2, 2], 0.25); XCTAssertEqual(g[1, 7, 2], 0.25); XCTAssertEqual(g[1, 2, 7], 1)
        XCTAssertThrowsError(try ImageGrid(rows: [[a, RGBImage(width: 2, height: 3, repeating: 0)]]).render()) {
            XCTAssertEqual($0 as? ImagingError,
                           .wrongSize(subject: "image grid cell (row 0, column 1)", expected: "3x3", actual: "2x3"))
        }
        XCTAssertThrowsError(try ImageGrid(rows: []).render())
    }

    func testWritesOwnerOnlyPNG() throws {
        let dir = try Fixture.temporaryFolder(self)
        let path = dir.appendingPathComponent("grid.png").path
        try ImageGrid(images: [try Fixture.image("rgb8.png")], columns: 1, scale: 3).writePNG(to: path)
        let back = try RGBImage(path: path)
        XCTAssertEqual(back.width, 10)
        XCTAssertEqual(back[2, 2 + 3 + 2, 2], 1)        // blue pixel (row 1, column 0) scaled 3x
        XCTAssertEqual(back[0, 2 + 3 + 2, 2], 0)
        let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? NSNumber
        XCTAssertEqual(mode?.intValue, 0o600)
    }
}
