import Foundation

/// A file that cannot be read or written safely: one line naming the file and the problem. Every layer
/// passes it on as bad input (exit 2): a missing or oversized file, a FIFO where a file was expected, a
/// symbolic link where a new file is written, a full disk.
public struct FileError: Error, CustomStringConvertible, Sendable {
    public let path: String
    public let problem: String
    /// True when the disk (or quota) is full: nothing was left half-written.
    public let noSpace: Bool

    public init(_ path: String, _ problem: String, noSpace: Bool = false) {
        self.path = path
        self.problem = problem
        self.noSpace = noSpace
    }

    public var description: String { "\(path): \(problem)" }

    /// The error for `errno` after a failed call that `doing` names ("cannot create", "cannot write").
    static func errno(_ path: String, _ doing: String, _ code: Int32 = Foundation.errno) -> FileError {
        switch code {
        case ENOENT: return FileError(path, "no such file or folder")
        case EACCES, EPERM: return FileError(path, "\(doing): permission denied")
        case ELOOP: return FileError(path, "\(doing): it is a symbolic link (refused: medpfl never writes through a link)")
        case EEXIST: return FileError(path, "\(doing): it already exists")
        case ENOSPC, EDQUOT: return FileError(path, "\(doing): no space left on the device (nothing was written)", noSpace: true)
        case EISDIR: return FileError(path, "\(doing): it is a folder")
        case EROFS: return FileError(path, "\(doing): the file system is read-only")
        default: return FileError(path, "\(doing): \(String(cString: strerror(code)))")
        }
    }
}

/// Byte counts in words ("1.5 GiB").
public func byteCount(_ n: Int64) -> String {
    let units = ["bytes", "KiB", "MiB", "GiB", "TiB", "PiB"]
    var v = Double(n), u = 0
    while v >= 1024 && u < units.count - 1 { v /= 1024; u += 1 }
    return u == 0 ? "\(n) bytes" : String(format: "%.1f %@", v, units[u])
}
