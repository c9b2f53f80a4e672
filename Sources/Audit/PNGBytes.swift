import Foundation
import Imaging

/// PNG bytes of an image for the audit log, encoded in memory (nothing is written to disk).
public enum PNGBytes {
    /// The 8-bit RGB PNG encoding of `image`.
    public static func encode(_ image: RGBImage) throws -> Data {
        do { return try image.pngData() } catch { throw AuditError.store("cannot encode a PNG for the audit log: \(error)") }
    }
}
