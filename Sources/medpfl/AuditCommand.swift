import ArgumentParser
import Audit
import Dispatch
import Foundation
import SafeIO
import Report

/// The risk level at or above which `medpfl audit` exits with 3.
enum FailOn: String, ExpressibleByArgument, CaseIterable {
    case high, medium, never

    /// True when `band` is at or above this level.
    func trips(_ band: RiskBand?) -> Bool {
        guard let band else { return false }
        switch self {
        case .high: return band >= .high
        case .medium: return band >= .medium
        case .never: return false
        }
    }
}

struct AuditCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Run a privacy audit defined in a YAML file and record every trial in the SQLite audit log.",
        discussion: """
        The file (see audits/SCHEMA.md) names the site, its model, the images, the FL setting, the attacks \
        and the defence settings to test. Every trial (sample x attack x defence) is recorded the moment it \
        finishes, so an audit that is stopped or killed loses at most the trials in flight: finish it with \
        --resume. Ctrl-C once stops after the trials in flight; Ctrl-C twice or SIGTERM stops at once. \
        Exit codes: 0 done (risk below --fail-on); 3 the site's risk is at or above --fail-on; 2 bad input; \
        1 internal error; 130/143 stopped by SIGINT/SIGTERM (resume later).
        """)

    @Argument(help: "The audit definition (YAML).") var file: String
    @Argument(help: "With --resume: the id of the audit to resume (default: the newest unfinished one of this configuration).")
    var resumeID: Int64?
    @Option(help: "SQLite audit log (default: output.database of the file, else medpfl.sqlite in the working directory).")
    var db: String?
    @Flag(help: "Finish an interrupted audit instead of starting a new one (trials already recorded are skipped).")
    var resume = false
    @Option(help: "Exit with code 3 when the site's overall risk is at or above this: high, medium or never.")
    var failOn: FailOn = .never
    @Flag(help: "Print the result as JSON on stdout.") var json = false
    @Option(help: "Run only shard K of N of the trial grid (K/N); merge the shard logs with `medpfl merge`.")
    var shard: String?
    @Flag(help: "Do not render a report after the audit.") var noReport = false
    @Flag(help: "No progress on stderr.") var quiet = false
    @OptionGroup var parallel: ParallelOptions
    @Option(help: "Ed25519 private key (PEM or raw; `medpfl keygen` makes one) that signs the finished audit's digest.")
    var signKey: String?
    @Flag(help: "With --resume: take over an audit whose recorded process cannot be checked from here (another host).")
    var force = false

    func validate() throws {
        if resumeID != nil && !resume { throw ValidationError("an audit id is accepted only after --resume") }
        if force && !resume { throw ValidationError("--force only applies with --resume") }
    }

    func run() throws {
        // Every audit of the file is validated (model, weights, images) before any work starts.
        let documents = try auditInput { try AuditDefinitionParser.loadAll(file) }
        if documents.count > 1 && resumeID != nil {
            throw InputError("\(file) holds \(documents.count) audits: use --resume without an id (each resumes its newest unfinished run)")
        }
        let shardSpec = try shard.map { s in try auditInput { try Shard(parsing: s) } }
        let plans = try documents.map { d in try auditInput { try AuditPlan.prepare(d) } }
        let first = documents[0].definition
        let dbPath = db ?? first.output.database.map(first.resolve) ?? "medpfl.sqlite"
        let key = try signKey.map { k in try auditInput { try AuditSigningKey(file: k) } }
        let store = try auditInput { try AuditStore(path: dbPath, signingKey: key) }
        let stop = StopFlag()
        let signals = AuditSignals(store: store, stop: stop)
        var outputs: [Output] = []
        var tripped = false
        for plan in plans {
            let runner = AuditRunner(plan: plan, store: store)
            runner.shard = shardSpec
            runner.resume = resume ? (resumeID.map { .id($0) } ?? .latest) : .none
            runner.force = force
            runner.commandLine = CommandLine.arguments.joined(separator: " ")
            runner.toolVersion = medpflVersion
            runner.definitionPath = URL(fileURLWithPath: file).standardizedFileURL.path
            runner.workers = parallel.resolved.jobs
            runner.threads = parallel.resolved.threads
            let (id, resumed) = try auditInput { try runner.open() }
            signals.audit = id
            let progress = AuditProgress(enabled: !quiet)
            var events = AuditEvents()
            events.started = { _, pending, done in progress.start(pending: pending, alreadyDone: done) }
            events.iteration = { spec, it, total, _ in progress.iteration(spec.key, it, total) }
            events.trialFinished = { o, n, total in progress.finished(o.spec.key, n, total) }
            events.utilityFinished = { r, n, total in progress.finished("utility/\(r.defence)", n, total) }
            let t0 = Date()
            let result = try auditInput { try runner.run(audit: id, resumed: resumed, stop: stop, events: events) }
            progress.end()
            let out = Output(audit: result.auditID, status: result.status.rawValue, database: store.path, site: plan.definition.site,
                             model: plan.model.name, shard: shard, trialsRun: result.trialsRun, trialsAlreadyRecorded: result.trialsSkipped,
                             seconds: Date().timeIntervalSince(t0), siteRisk: result.report?.siteRisk?.rawValue,
                             recommended: result.report?.recommended, recommendation: result.report?.recommendation,
                             settings: result.report?.settings, threats: result.report?.threats)
            outputs.append(out)
            if !json { summarise(result, out) }
            if result.status == .interrupted { break }
            if !noReport && shardSpec == nil && result.status == .finished {
                // The report is written owner-only; with several audits in one file, one folder each.
                var dir = plan.definition.output.reportDirectory.map(plan.definition.resolve) ?? "medpfl-report-\(result.auditID)"
                if plans.count > 1 { dir += "/audit-\(result.auditID)" }
                let data = try auditInput { try ReportData(store: store, auditID: result.auditID) }
                _ = try auditInput { try ReportWriter.write(data, to: dir) }
                if !json { print("Report: \(dir)/report.html (and report.md)") }
            }
            // The highest band among the threat models in scope (the same as the declared setting's band over every attack).
            tripped = tripped || failOn.trips(result.report?.overallRisk)
        }
        withExtendedLifetime(signals) {}
        if json { if outputs.count == 1 { try printAuditJSON(outputs[0]) } else { try printAuditJSON(outputs) } }
        if outputs.last?.status == AuditStatus.interrupted.rawValue { throw ExitCode(130) }
        if tripped { throw ExitCode(3) }
    }

    struct Output: Encodable {
        let audit: Int64, status: String, database: String, site: String, model: String, shard: String?
        let trialsRun: Int, trialsAlreadyRecorded: Int, seconds: Double
        let siteRisk: String?, recommended: String?, recommendation: String?, settings: [SettingRisk]?
        let threats: [ThreatRisk]?
    }

    func summarise(_ r: AuditRunResult, _ o: Output) {
        let what = r.resumed ? "resumed audit" : "audit"
        if r.status == .interrupted {
            print("Stopped \(what) \(r.auditID) after \(r.trialsRun) new trials. Finish it with: medpfl audit \(file) --db \(o.database) --resume \(r.auditID)")
            return
        }
        print("Finished \(what) \(r.auditID) of \(o.site) (\(o.model)): \(r.trialsRun) jobs run, \(r.trialsSkipped) trials already recorded, "
              + "\(durationText(o.seconds)). Log: \(o.database)")
        if let s = shard { print("This was shard \(s); merge all shards with: medpfl merge OUT.sqlite shard-*.sqlite") }
        if let rep = r.report {
            print(rep.siteSummary)
            for t in rep.threats ?? [] { print(t.summary(declared: rep.declared)) }
            print(rep.recommendation)
            print("Details: medpfl show \(r.auditID) --db \(o.database)")
        }
    }
}

/// Runs `body`, reporting the audit layer's input errors (bad file, wrong id...) as bad input (exit 2);
/// errors of the log itself stay internal errors (exit 1).
func auditInput<T>(_ body: () throws -> T) throws -> T {
    do { return try body() } catch let e as DefinitionError {
        throw InputError(e.description)
    } catch let e as AuditError where e.isInput {
        throw InputError(e.description)
    }
}

/// JSON on stdout for the audit commands: like `printJSON`, with dates as ISO 8601 (UTC) text.
func printAuditJSON<T: Encodable>(_ value: T) throws {
    FileHandle.standardOutput.write(try auditJSONData(value))
    FileHandle.standardOutput.write(Data("\n".utf8))
}

/// An audit value as `--json` prints it.
func auditJSONData<T: Encodable>(_ value: T) throws -> Data {
    let enc = JSONEncoder()
    enc.outputFormatting = [.prettyPrinted, .sortedKeys]
    enc.dateEncodingStrategy = .iso8601
    enc.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
    return try enc.encode(value)
}

/// "4 min 12 s", "38 s".
func durationText(_ s: Double) -> String {
    guard s.isFinite, s >= 0 else { return "--" }
    let t = Int(s.rounded())
    if t >= 3600 { return "\(t / 3600) h \((t % 3600) / 60) min" }
    if t >= 60 { return "\(t / 60) min \(t % 60) s" }
    return "\(t) s"
}

/// SIGINT once: stop scheduling trials, let the ones in flight finish, mark the audit interrupted.
/// SIGINT twice or SIGTERM: mark the audit interrupted and exit at once (the trials in flight are lost;
/// every recorded trial is kept).
/// `@unchecked Sendable`: safe because `_audit` is read and written only while holding its lock, and
/// `sources`/`interrupts` are touched only by the signal handlers, which run on one private serial queue
/// (and `sources` once at installation, before any handler can run).
final class AuditSignals: @unchecked Sendable {
    private var sources: [DispatchSourceSignal] = []
    private var interrupts = 0
    private let lock = NSLock()
    private var _audit: Int64?
    /// The audit being run (the one marked interrupted on a signal).
    var audit: Int64? {
        get { lock.lock(); defer { lock.unlock() }; return _audit }
        set { lock.lock(); _audit = newValue; lock.unlock() }
    }

    init(store: AuditStore, stop: StopFlag) {
        let queue = DispatchQueue(label: "medpfl.audit.signals")
        for sig in [SIGINT, SIGTERM] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: queue)
            source.setEventHandler { [unowned self] in
                self.interrupts += sig == SIGINT ? 1 : 2
                if self.interrupts == 1 {
                    stop.request()
                    note("\nStopping: waiting for the trials in flight to finish (Ctrl-C again to stop now).")
                    return
                }
                if let id = self.audit {
                    try? store.setStatus(.interrupted, audit: id, note: "stopped by \(sig == SIGINT ? "SIGINT" : "SIGTERM"); trials in flight were dropped")
                    note("\nStopped audit \(id); every recorded trial is kept. Finish it later with --resume \(id).")
                }
                Temporaries.removeAll()
                _exit(sig == SIGINT ? 130 : 143)
            }
            source.resume()
            sources.append(source)
        }
    }
}

/// One progress line on stderr: trials done of total, elapsed time, ETA and the trials running.
/// Without a terminal, one line per finished trial instead.
/// `@unchecked Sendable`: safe because every access to its counters and running set holds its lock.
final class AuditProgress: @unchecked Sendable {
    private let enabled: Bool
    private let tty = isatty(STDERR_FILENO) != 0
    private let lock = NSLock()
    private var start = Date()
    private var total = 0, done = 0, already = 0
    private var running: [String: Double] = [:]
    private var last = Date.distantPast

    init(enabled: Bool) { self.enabled = enabled }

    func start(pending: Int, alreadyDone: Int) {
        lock.lock(); defer { lock.unlock() }
        (total, already, start) = (pending, alreadyDone, Date())
        if enabled {
            note("Running \(pending) jobs" + (alreadyDone > 0 ? " (\(alreadyDone) already recorded, skipped)" : "") + ".")
        }
    }

    func iteration(_ key: String, _ it: Int, _ of: Int) {
        lock.lock(); defer { lock.unlock() }
        running[key] = of > 0 ? Double(it) / Double(of) : 0
        draw(force: false)
    }

    func finished(_ key: String, _ n: Int, _ of: Int) {
        lock.lock(); defer { lock.unlock() }
        running[key] = nil
        done = n
        if enabled && !tty { note("[\(n)/\(of)] \(key) recorded, elapsed \(durationText(Date().timeIntervalSince(start)))") }
        draw(force: true)
    }

    func end() { if enabled && tty { FileHandle.standardError.write(Data("\n".utf8)) } }

    private func draw(force: Bool) {
        guard enabled, tty, total > 0 else { return }
        let now = Date()
        guard force || now.timeIntervalSince(last) > 0.5 else { return }
        last = now
        let elapsed = now.timeIntervalSince(start)
        let fraction = (Double(done) + running.values.reduce(0, +)) / Double(total)
        let eta = fraction > 0.005 ? elapsed / fraction - elapsed : .nan
        let width = 24, filled = min(width, Int(Double(width) * Double(done) / Double(total)))
        let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
        let line = "\r[\(bar)] \(done)/\(total) trials, elapsed \(durationText(elapsed)), ETA \(durationText(eta)), \(running.count) running   "
        FileHandle.standardError.write(Data(line.utf8))
    }
}
