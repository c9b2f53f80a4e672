import Foundation
import Imaging

/// PNG bytes of an image for the audit log: written with `RGBImage.writePNG` into a private (0700)
/// temporary folder, read back, and deleted at once.
public enum PNGBytes {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var folder: String?
    nonisolated(unsafe) private static var counter = 0

    /// The 8-bit RGB PNG encoding of `image`.
    public static func encode(_ image: RGBImage) throws -> Data {
        let path = try nextPath()
        defer { unlink(path) }
        try image.writePNG(to: path)
        guard let data = FileManager.default.contents(atPath: path) else { throw AuditError.store("cannot read back \(path)") }
        return data
    }

    private static func nextPath() throws -> String {
        lock.lock(); defer { lock.unlock() }
        if folder == nil {
            var template = Array((NSTemporaryDirectory() + "/medpfl-png-XXXXXX").utf8CString)
            guard let p = mkdtemp(&template) else { throw AuditError.store("cannot create a private temporary folder") }
            let dir = String(cString: p)
            chmod(dir, 0o700)
            folder = dir
            atexit { if let f = PNGBytes.folder { try? FileManager.default.removeItem(atPath: f) } }
        }
        counter += 1
        return "\(folder!)/\(counter).png"
    }
}
