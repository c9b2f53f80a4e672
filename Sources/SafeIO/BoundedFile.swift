import Foundation

/// Reads input files safely: only regular files (a FIFO, device or socket is refused at once, without
/// blocking), never more than a stated limit (the size is checked before anything is read), in bounded memory.
public enum BoundedFile {
    /// Limits for the kinds of input medpfl reads.
    public enum Limit {
        /// An image (PNG): 256 MiB is far above any 16384 x 16384 16-bit image a site trains on.
        public static let image = 256 << 20
        /// A DICOM file (GDCM reads it; decoded, every frame is held in memory): 2 GiB covers long cines and
        /// enhanced multi-frame series.
        public static let dicom = 2 << 30
        /// A text file: audit definitions, model descriptions, templates, CSV.
        public static let text = 16 << 20
        /// A weights or update file: bounded by the machine's memory (`Machine.memoryBytes`).
        public static var tensors: Int { Int(min(Int64(Int.max), Machine.memoryBytes)) }
    }

    /// The file's whole contents. `what` names the kind of file in the error ("image", "audit file").
    public static func read(_ path: String, limit: Int, what: String = "file") throws -> Data {
        let fd = try openRegular(path, what: what)
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw FileError.errno(path, "cannot read the \(what)") }
        let size = Int64(st.st_size)
        guard size <= Int64(limit) else {
            throw FileError(path, "the \(what) is \(byteCount(size)), more than the \(byteCount(Int64(limit))) medpfl reads for one")
        }
        var data = Data(count: Int(size))
        var done = 0
        try data.withUnsafeMutableBytes { (buf: UnsafeMutableRawBufferPointer) in
            while done < buf.count {
                let n = Foundation.read(fd, buf.baseAddress! + done, buf.count - done)
                if n < 0 { if errno == EINTR { continue }; throw FileError.errno(path, "cannot read the \(what)") }
                if n == 0 { break }
                done += n
            }
        }
        if done < data.count { data.removeSubrange(done...) }
        // A file that grew while it was read is read to its size at open: never beyond the limit.
        return data
    }

    /// Feeds the file to `body` in pieces of `chunk` bytes (any size, bounded memory).
    public static func stream(_ path: String, chunk: Int = 1 << 20, what: String = "file",
                              _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        let fd = try openRegular(path, what: what)
        defer { close(fd) }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunk, alignment: 16)
        defer { buffer.deallocate() }
        while true {
            let n = Foundation.read(fd, buffer.baseAddress!, chunk)
            if n < 0 { if errno == EINTR { continue }; throw FileError.errno(path, "cannot read the \(what)") }
            if n == 0 { return }
            try body(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
        }
    }

    /// The first `count` bytes of a regular file (fewer when it is shorter); refuses anything else.
    public static func head(_ path: String, count: Int, what: String = "file") throws -> Data {
        let fd = try openRegular(path, what: what)
        defer { close(fd) }
        var buf = [UInt8](repeating: 0, count: count)
        let n = Foundation.read(fd, &buf, count)
        guard n >= 0 else { throw FileError.errno(path, "cannot read the \(what)") }
        return Data(buf.prefix(n))
    }

    /// The size of a regular file (refusing anything else).
    public static func size(_ path: String, what: String = "file") throws -> Int64 {
        let fd = try openRegular(path, what: what)
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw FileError.errno(path, "cannot read the \(what)") }
        return Int64(st.st_size)
    }

    /// Opens `path` for reading if it is a regular file. O_NONBLOCK makes opening a FIFO return at once
    /// (it is then refused by the type check); for a regular file it changes nothing.
    static func openRegular(_ path: String, what: String) throws -> Int32 {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)
        guard fd >= 0 else {
            if errno == ENOENT { throw FileError(path, "no such \(what)") }
            throw FileError.errno(path, "cannot open the \(what)")
        }
        var st = stat()
        guard fstat(fd, &st) == 0 else { close(fd); throw FileError.errno(path, "cannot read the \(what)") }
        switch st.st_mode & S_IFMT {
        case S_IFREG:
            let flags = fcntl(fd, F_GETFL)
            _ = fcntl(fd, F_SETFL, flags & ~O_NONBLOCK)
            return fd
        case S_IFDIR: close(fd); throw FileError(path, "is a folder, not a \(what)")
        default: close(fd); throw FileError(path, "is not a regular file (a FIFO, device or socket); refused")
        }
    }
}

/// Facts about this machine used to refuse work that cannot fit before any of it is done.
public enum Machine {
    /// Physical memory in bytes (sysconf), or 16 GiB when the system does not say.
    public static var memoryBytes: Int64 {
        let pages = sysconf(Int32(_SC_PHYS_PAGES)), size = sysconf(Int32(_SC_PAGESIZE))
        guard pages > 0, size > 0 else { return 16 << 30 }
        return Int64(pages) * Int64(size)
    }

    /// Memory available now (MemAvailable of /proc/meminfo), or `memoryBytes` where it cannot be read.
    public static var availableMemoryBytes: Int64 {
        if let text = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8),
           let line = text.split(separator: "\n").first(where: { $0.hasPrefix("MemAvailable:") }) {
            let parts = line.split(separator: " ")
            if parts.count >= 2, let kib = Int64(parts[1]) { return kib * 1024 }
        }
        return memoryBytes
    }
}
