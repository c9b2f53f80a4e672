import Foundation

/// Owner-only file operations for report output: folders 0700, files 0600 (a report and its images
/// describe patients).
public enum ReportFiles {
    /// Creates `path` and any missing parents with mode 0700; the folders it creates get 0700 even
    /// under a permissive umask. An existing folder is left as it is.
    public static func makePrivateDirectory(_ path: String) throws {
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDir) {
            guard isDir.boolValue else { throw ReportError.writeFailed("\(path) exists and is not a folder") }
            return
        }
        let parent = (path as NSString).deletingLastPathComponent
        if !parent.isEmpty && parent != path { try makePrivateDirectory(parent) }
        if mkdir(path, 0o700) != 0 && errno != EEXIST {
            throw ReportError.writeFailed("cannot create folder \(path): \(String(cString: strerror(errno)))")
        }
        chmod(path, 0o700)
    }

    /// Writes `data` to `path` with mode 0600 (an existing file is replaced and gets 0600 too; a
    /// symbolic link at `path` is refused).
    public static func writePrivate(_ data: Data, to path: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw ReportError.writeFailed("cannot write \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        fchmod(fd, 0o600)
        try data.withUnsafeBytes { (buf: UnsafeRawBufferPointer) in
            var done = 0
            while done < buf.count {
                let n = write(fd, buf.baseAddress! + done, buf.count - done)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw ReportError.writeFailed("cannot write \(path): \(String(cString: strerror(errno)))")
                }
                done += n
            }
        }
    }

    /// Writes UTF-8 text with mode 0600.
    public static func writePrivate(_ text: String, to path: String) throws {
        try writePrivate(Data(text.utf8), to: path)
    }

    /// Moves `source` to `destination`, replacing a file or folder there.
    static func replace(_ destination: String, with source: String) throws {
        let fm = FileManager.default
        do {
            if fm.fileExists(atPath: destination) || (try? fm.destinationOfSymbolicLink(atPath: destination)) != nil {
                try fm.removeItem(atPath: destination)
            }
            try fm.moveItem(atPath: source, toPath: destination)
        } catch {
            throw ReportError.writeFailed("cannot move \(source) to \(destination): \(error.localizedDescription)")
        }
    }
}
