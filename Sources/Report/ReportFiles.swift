import Foundation
import SafeIO

/// Owner-only file operations for report output: folders 0700, files 0600 (a report and its images
/// describe patients), through `SafeIO.PrivateFile` (atomic, never through a symbolic link). Errors
/// become `ReportError.writeFailed` naming the file.
public enum ReportFiles {
    /// Creates `path` and any missing parents with mode 0700. An existing folder is left as it is.
    public static func makePrivateDirectory(_ path: String) throws {
        do { try PrivateFile.makeDirectory(path) } catch let e as FileError { throw ReportError.writeFailed(e.description) }
    }

    /// Writes `data` to `path` with mode 0600 (atomically; a symbolic link at `path` is refused).
    public static func writePrivate(_ data: Data, to path: String) throws {
        do { try PrivateFile.write(data, to: path) } catch let e as FileError { throw ReportError.writeFailed(e.description) }
    }

    /// Writes UTF-8 text with mode 0600.
    public static func writePrivate(_ text: String, to path: String) throws {
        try writePrivate(Data(text.utf8), to: path)
    }

    /// Moves `source` to `destination`, replacing a file or folder there (a link there is removed, not followed).
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
