import Foundation
import SafeIO

/// Which audit a run writes to: a new one, or an unfinished one it resumes.
public enum ResumeRequest: Sendable, Equatable {
    /// Start a new audit.
    case none
    /// Resume the newest unfinished audit with this configuration (and shard).
    case latest
    /// Resume this audit.
    case id(Int64)
}

/// A slice of the trial grid: shard `index` of `count` (1-based), written "K/N".
public struct Shard: Sendable, Equatable, CustomStringConvertible {
    public let index: Int
    public let count: Int

    /// Parses "K/N" with 1 <= K <= N.
    public init(parsing text: String) throws {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let k = Int(parts[0]), let n = Int(parts[1]), n >= 1, k >= 1, k <= n else {
            throw AuditError.input("--shard must be K/N with 1 <= K <= N (e.g. 2/8), got '\(text)'")
        }
        index = k
        count = n
    }

    public var description: String { "\(index)/\(count)" }
}

/// Opens the audit row a run writes to: creates it, or finds and claims the one to resume after checking
/// that it has the same configuration and that no live process is still running it.
enum AuditSession {
    static func open(plan: AuditPlan, store: AuditStore, shard: Shard?, resume: ResumeRequest, force: Bool = false, trialsPlanned: Int,
                     commandLine: String, toolVersion: String, definitionPath: String?) throws -> (id: Int64, resumed: Bool) {
        let shardText = shard?.description
        switch resume {
        case .none:
            let id = try store.beginAudit(NewAudit(
                site: plan.definition.site, model: plan.model.name, modelVersion: plan.definition.model.version,
                modelSHA256: plan.config.modelSHA256, configJSON: plan.configJSON, configSHA256: plan.configSHA256,
                toolVersion: toolVersion, seed: plan.definition.seed, commandLine: commandLine, definitionPath: definitionPath,
                shard: shardText, trialsPlanned: trialsPlanned, gridSize: plan.trials.count))
            return (id, false)
        case .latest:
            guard let a = try store.unfinishedAudits(configSHA256: plan.configSHA256, shard: shardText).first else {
                // Resuming what is already finished is a no-op (a re-queued cluster job finds its work done).
                if let done = try store.audits().last(where: { $0.configSHA256 == plan.configSHA256 && $0.shard == shardText }) {
                    return (done.id, true)
                }
                throw AuditError.input("nothing to resume: \(store.path) holds no audit with this configuration"
                                       + (shardText.map { " and shard \($0)" } ?? "") + "; run without --resume to start one")
            }
            try sameVersion(a, toolVersion)
            try claim(a, store: store, commandLine: commandLine, force: force)
            return (a.id, true)
        case let .id(id):
            let a = try store.requireAudit(id: id)
            if a.status == .finished { throw AuditError.input("audit \(id) is already finished; nothing to resume") }
            guard a.configSHA256 == plan.configSHA256 else {
                throw AuditError.input("audit \(id) was run with a different configuration (model, images or settings changed): "
                                       + "recorded \(a.configSHA256.prefix(12)), this file gives \(plan.configSHA256.prefix(12)); start a new audit instead")
            }
            guard a.shard == shardText else {
                throw AuditError.input("audit \(id) is " + (a.shard.map { "shard \($0)" } ?? "not sharded")
                                       + ", but this run asks for " + (shardText.map { "shard \($0)" } ?? "the whole grid"))
            }
            try sameVersion(a, toolVersion)
            try claim(a, store: store, commandLine: commandLine, force: force)
            return (a.id, true)
        }
    }

    /// A resumed audit must be finished by the medpfl that started it: another version may compute trials
    /// differently, and one audit must not mix them.
    static func sameVersion(_ a: AuditRecord, _ toolVersion: String) throws {
        guard a.toolVersion == toolVersion else {
            throw AuditError.input("audit \(a.id) was started by medpfl \(a.toolVersion); this is medpfl \(toolVersion): "
                                   + "resume it with medpfl \(a.toolVersion), or start a new audit")
        }
    }

    /// Refuses to resume an audit whose run is still alive: its recorded process (PID, start time, boot) still
    /// runs medpfl on this host. A PID now held by another program, or by a later process, is not its owner and
    /// the audit is taken over. A run recorded on another host cannot be checked from here: `force` takes it over.
    static func claim(_ a: AuditRecord, store: AuditStore, commandLine: String, force: Bool) throws {
        if a.status == .running, !force {
            switch a.runState {
            case .alive(let pid) where pid != Int(getpid()):
                throw AuditError.input("audit \(a.id) is still being run by medpfl process \(pid) on this machine; stop it first (or wait for it)")
            case .elsewhere(let host):
                throw AuditError.input("audit \(a.id) is marked running on host \(host), which cannot be checked from here; "
                                       + "stop it there, or resume with --force to take it over")
            case .alive, .gone, .notRunning: break
            }
        }
        try store.claim(audit: a.id, commandLine: commandLine)
    }
}

extension AuditRecord {
    /// Whether the process recorded as running this audit still does.
    public enum RunState: Sendable, Equatable {
        /// Not marked running.
        case notRunning
        /// Marked running, and its medpfl process is alive on this machine.
        case alive(pid: Int)
        /// Marked running, but its process is gone (killed or crashed; or its PID now belongs to another program).
        case gone
        /// Marked running on another host.
        case elsewhere(host: String)
    }

    public var runState: RunState {
        guard status == .running, let pid else { return .notRunning }
        guard host == ProcessInfo.processInfo.hostName else { return .elsewhere(host: host ?? "?") }
        if pid == Int(getpid()) { return .alive(pid: pid) }
        let identity = process.flatMap(ProcessIdentity.init(token:)) ?? ProcessIdentity(pid: Int32(pid), startTicks: 0, bootID: "")
        guard identity.isRunning else { return .gone }
        if identity.startTicks != 0 { return .alive(pid: pid) }
        // Without a recorded start time (logs before v4) the live PID is the owner only if it runs medpfl
        // (the kernel's 15-character name: "medpfl", or the test bundle "medpflPackageTe…").
        if let name = ProcessIdentity.programName(of: Int32(pid)), !name.hasPrefix("medpfl") { return .gone }
        return .alive(pid: pid)
    }

    /// True when the audit says `running` but its process is gone from this machine (killed or crashed):
    /// it can be resumed. False when it runs on another machine (which cannot be checked from here).
    public var isAbandoned: Bool { runState == .gone }

    /// The status as shown to people: "running", "finished"..., or "stopped (process gone)" for an
    /// abandoned run.
    public var statusText: String { isAbandoned ? "stopped (process gone; resume it)" : status.rawValue }
}
