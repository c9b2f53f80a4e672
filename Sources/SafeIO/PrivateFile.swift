import Foundation

/// Writes files that may hold patient data, model updates or audit results: owner-only (files 0600,
/// folders 0700) whatever the umask, never through a symbolic link, and atomically.
///
/// A file is written to a new temporary file in the same folder (created with O_CREAT | O_EXCL |
/// O_NOFOLLOW, so nothing planted there is opened), flushed to disk, and renamed over the target:
/// `rename` replaces a link at the target instead of following it, and a failure (a full disk, a signal)
/// leaves the old file or none, never part of one. Temporary names start with `.medpfl-`; one left by a
/// killed process is removed by the next write into that folder (`Temporaries.sweep`).
public enum PrivateFile {
    /// The folder of `path`, as `NSString.deletingLastPathComponent` gives it ("a/b" -> "a", "a/b/" -> "a", "/a" -> "/",
    /// "/" -> "/", "a" -> ""): written out because swift-corelibs-foundation 6.3 traps (SIGILL) on a relative path of
    /// one character ("r", "r/"), which made `medpfl report 1 --out r` crash.
    public static func parentDirectory(of path: String) -> String {
        var s = Substring(path)
        while s.count > 1, s.last == "/" { s = s.dropLast() }
        if s == "/" { return "/" }
        guard let i = s.lastIndex(of: "/") else { return "" }
        var parent = s[..<i]
        while parent.count > 1, parent.last == "/" { parent = parent.dropLast() }
        return parent.isEmpty ? "/" : String(parent)
    }

    /// Writes `data` to `path` (mode 0600).
    public static func write(_ data: Data, to path: String, mode: mode_t = 0o600) throws {
        try Temporaries.exclusive { try unguardedWrite(data, to: path, mode: mode) }
    }

    private static func unguardedWrite(_ data: Data, to path: String, mode: mode_t) throws {
        let url = URL(fileURLWithPath: path)
        let folder = url.deletingLastPathComponent().path
        Temporaries.sweepOnce(folder)
        try refuseLinkedTarget(path)
        let tmp = (folder as NSString).appendingPathComponent(Temporaries.name("file", for: url.lastPathComponent))
        let fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode)
        guard fd >= 0 else { throw FileError.errno(path, "cannot create") }
        Temporaries.register(tmp)
        defer { Temporaries.unregister(tmp) }
        var ok = false
        defer { if !ok { unlink(tmp) } }
        fchmod(fd, mode)
        do {
            try writeAll(fd, data, path)
            guard fsync(fd) == 0 else { throw FileError.errno(path, "cannot write") }
        } catch { close(fd); throw error }
        guard close(fd) == 0 else { throw FileError.errno(path, "cannot write") }
        guard rename(tmp, path) == 0 else { throw FileError.errno(path, "cannot write") }
        ok = true
    }

    /// Writes UTF-8 text to `path` (mode 0600).
    public static func write(_ text: String, to path: String) throws { try write(Data(text.utf8), to: path) }

    /// Creates `path` and any missing parents (mode 0700 for the folders it creates, whatever the umask).
    /// An existing folder is used as it is; a file, or a symbolic link, where a folder should be is refused.
    public static func makeDirectory(_ path: String) throws {
        try Temporaries.exclusive { try unguardedMakeDirectory(path) }
    }

    private static func unguardedMakeDirectory(_ path: String) throws {
        var st = stat()
        if lstat(path, &st) == 0 {
            switch st.st_mode & S_IFMT {
            case S_IFDIR: return
            case S_IFLNK:
                // A link to a folder the user made is theirs to make (e.g. reports on another disk); its target must be a folder.
                var target = stat()
                guard stat(path, &target) == 0, target.st_mode & S_IFMT == S_IFDIR else {
                    throw FileError(path, "is a symbolic link that does not lead to a folder")
                }
                return
            default: throw FileError(path, "exists and is not a folder")
            }
        }
        let parent = parentDirectory(of: path)
        if !parent.isEmpty && parent != path { try unguardedMakeDirectory(parent) }
        if mkdir(path, 0o700) != 0 && errno != EEXIST { throw FileError.errno(path, "cannot create the folder") }
        chmod(path, 0o700)
    }

    /// Refuses a symbolic link at `path`: a link planted in an output folder must not redirect a write
    /// elsewhere. (`rename` would replace the link, not follow it; refusing tells the user instead of
    /// silently replacing what they may have put there.)
    static func refuseLinkedTarget(_ path: String) throws {
        var st = stat()
        if lstat(path, &st) == 0, st.st_mode & S_IFMT == S_IFLNK {
            throw FileError(path, "is a symbolic link; refusing to write through it (remove it first)")
        }
    }

    /// The system call that writes (tests replace it to simulate a full disk on any machine).
    nonisolated(unsafe) static var systemWrite: (Int32, UnsafeRawPointer, Int) -> Int = { Foundation.write($0, $1, $2) }

    static func writeAll(_ fd: Int32, _ data: Data, _ path: String) throws {
        try data.withUnsafeBytes { (buf: UnsafeRawBufferPointer) in
            var done = 0
            while done < buf.count {
                let n = systemWrite(fd, buf.baseAddress! + done, buf.count - done)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw FileError.errno(path, "cannot write")
                }
                done += n
            }
        }
    }
}

/// Temporary files and folders medpfl makes next to its outputs (`.medpfl-KIND-PID-START-RANDOM[-name]`),
/// and their removal: by their writer when done, on SIGINT/SIGTERM (`removeAll`, called by the signal
/// handlers), and, for those a SIGKILL left, by the next run that writes into the folder (`sweep`).
public enum Temporaries {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var live: Set<String> = []

    /// A fresh temporary name of this process. The process's start time is part of it, so that a
    /// later process reusing the PID is not mistaken for its owner.
    public static func name(_ kind: String, for target: String? = nil) -> String {
        let me = ProcessIdentity.current
        var n = ".medpfl-\(kind)-\(me.pid)-\(me.startTicks)-\(UInt32.random(in: 0...UInt32.max))"
        if let t = target { n += "-" + String(t.prefix(80)) }
        return n
    }

    public static func register(_ path: String) { lock.lock(); live.insert(path); lock.unlock() }
    public static func unregister(_ path: String) { lock.lock(); live.remove(path); lock.unlock() }

    /// Held for the whole of each private write (`exclusive`), and taken for good by a signal handler
    /// (`removeAll`): a write in flight finishes first, and no later write can recreate a folder the handler
    /// has removed (the process exits with the lock held).
    private static let writeLock = NSLock()

    /// Runs one file-system write of `PrivateFile` so that a signal handler's cleanup cannot interleave with it.
    static func exclusive<T>(_ body: () throws -> T) rethrows -> T {
        writeLock.lock()
        defer { writeLock.unlock() }
        return try body()
    }

    /// Removes every temporary this process still holds, for a signal handler about to exit: it waits for a
    /// write in flight, and keeps every other write from starting (call `_exit` next).
    public static func removeAll() {
        writeLock.lock()
        lock.lock(); let paths = live; live = []; lock.unlock()
        for p in paths { try? FileManager.default.removeItem(atPath: p) }
    }

    /// Removes the temporaries this process holds and lets writes go on (tests).
    static func removeAllAndContinue() {
        removeAll()
        writeLock.unlock()
    }

    nonisolated(unsafe) private static var swept: Set<String> = []

    /// `sweep`, the first time this process writes into `folder` (not on every file of a report or image set).
    static func sweepOnce(_ folder: String) {
        lock.lock()
        let first = swept.insert(folder).inserted
        lock.unlock()
        if first { sweep(folder) }
    }

    /// Removes, in `folder`, the temporaries whose process is gone (killed before it could clean up).
    /// Those of live processes (another medpfl writing there now) are left alone.
    @discardableResult
    public static func sweep(_ folder: String) -> [String] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder.isEmpty ? "." : folder) else { return [] }
        var removed: [String] = []
        for n in names where n.hasPrefix(".medpfl-") {
            let parts = n.split(separator: "-", maxSplits: 5, omittingEmptySubsequences: false)
            // ".medpfl", KIND, PID, START, RANDOM[-name]
            guard parts.count >= 5, let pid = Int32(parts[2]), let start = UInt64(parts[3]) else { continue }
            let owner = ProcessIdentity(pid: pid, startTicks: start, bootID: ProcessIdentity.current.bootID)
            if !owner.isRunning {
                let p = (folder as NSString).appendingPathComponent(n)
                if (try? FileManager.default.removeItem(atPath: p)) != nil { removed.append(p) }
            }
        }
        return removed
    }
}
