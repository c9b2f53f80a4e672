import Foundation

/// A process as the kernel knows it: PID, start time (clock ticks since boot, /proc/PID/stat field 22) and
/// the boot it belongs to (/proc/sys/kernel/random/boot_id). PIDs are reused; PID plus start time plus
/// boot is not, so a recorded identity tells a live owner from a later process that got the same PID.
public struct ProcessIdentity: Sendable, Equatable, CustomStringConvertible {
    public let pid: Int32
    /// 0 where /proc cannot be read (then only the PID is compared).
    public let startTicks: UInt64
    public let bootID: String

    public init(pid: Int32, startTicks: UInt64, bootID: String) {
        self.pid = pid
        self.startTicks = startTicks
        self.bootID = bootID
    }

    /// This process.
    public static let current = ProcessIdentity(pid: getpid(), startTicks: startTicks(of: getpid()) ?? 0, bootID: bootID)

    /// This boot's id ("" where the kernel does not give one).
    public static let bootID: String = (try? String(contentsOfFile: "/proc/sys/kernel/random/boot_id", encoding: .utf8))?
        .trimmingCharacters(in: .whitespacesAndNewlines) ?? ""

    /// "pid 123 started at tick 456 of boot 0f3c…" as one stored token: "PID:START:BOOT".
    public var token: String { "\(pid):\(startTicks):\(bootID)" }

    public init?(token: String) {
        let p = token.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
        guard p.count == 3, let pid = Int32(p[0]), let start = UInt64(p[1]) else { return nil }
        self.init(pid: pid, startTicks: start, bootID: String(p[2]))
    }

    public var description: String { "process \(pid)" }

    /// True when this very process still runs: the PID exists, in this boot, with the same start time.
    public var isRunning: Bool {
        if !bootID.isEmpty && !Self.bootID.isEmpty && bootID != Self.bootID { return false }
        guard kill(pid, 0) == 0 || errno == EPERM else { return false }
        guard startTicks != 0, let now = Self.startTicks(of: pid) else { return true }
        return now == startTicks
    }

    /// The command name of a running PID (/proc/PID/comm), nil when it is gone.
    public static func programName(of pid: Int32) -> String? {
        (try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Field 22 of /proc/PID/stat (after the parenthesised command name, which may itself hold spaces).
    public static func startTicks(of pid: Int32) -> UInt64? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = text.lastIndex(of: ")") else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ")
        // fields[0] is the state (field 3); field 22 is fields[19].
        guard fields.count > 19 else { return nil }
        return UInt64(fields[19])
    }
}
