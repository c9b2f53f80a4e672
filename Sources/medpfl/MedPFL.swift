import ArgumentParser
import Audit
import Dispatch
import Foundation
import SafeIO
import Tensor

/// Version of the tool, recorded in every audit.
let medpflVersion = "0.3.0"

@main
struct MedPFL: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "medpfl",
        abstract: "Privacy audit of federated-learning updates against gradient-leakage attacks.",
        discussion: """
        Exit codes: 0 success; 2 bad input (missing or corrupt file, unknown model, malformed spec); \
        1 internal error. `medpfl audit` adds 3: risk at or above --fail-on; `medpfl verify` adds 4: an audit \
        was changed after it finished.
        """,
        version: medpflVersion,
        subcommands: [UpdateCommand.self, AttackCommand.self, PreviewCommand.self, AttacksCommand.self, MetricsCommand.self, BenchCommand.self, TrainCommand.self, DPEpsilonCommand.self, AuditCommand.self, HistoryCommand.self, ShowCommand.self, CompareCommand.self, MergeCommand.self, VerifyCommand.self, KeygenCommand.self, InspectCommand.self, CheckModelCommand.self, MigrateCommand.self, ReportCommand.self])

    static func main() {
        Engine.configureForThroughput()
        do {
            var command = try parseAsRoot(joiningNegativeValues(Array(CommandLine.arguments.dropFirst())))
            if !(command is AuditCommand) { SignalCleanup.install() }
            try command.run()
        } catch let e as InputError {
            FileHandle.standardError.write(Data("medpfl: error: \(TerminalText.oneLine(e.message))\n".utf8))
            Foundation.exit(2)
        } catch let e as FileError {
            // A file that cannot be read or written safely (missing, a FIFO, a link, a full disk): bad input.
            FileHandle.standardError.write(Data("medpfl: error: \(TerminalText.oneLine(e.description))\n".utf8))
            Foundation.exit(2)
        } catch let e as AuditError {
            // Bad input (a damaged or foreign log, a wrong id) exits 2; a refusal of the store 1; one line each.
            FileHandle.standardError.write(Data("medpfl: error: \(TerminalText.oneLine(e.description))\n".utf8))
            Foundation.exit(e.isInput ? 2 : 1)
        } catch {
            let code = exitCode(for: error)
            if code == .success || error is CleanExit { exit(withError: error) }
            if code == .validationFailure || error is ValidationError || "\(type(of: error))".contains("CommandError") {
                // One line naming the problem (the usage is one `--help` away).
                let line = message(for: error).split(separator: "\n").first.map(String.init) ?? "\(error)"
                FileHandle.standardError.write(Data("medpfl: error: \(TerminalText.oneLine(line))\n".utf8))
                Foundation.exit(2)
            }
            exit(withError: error)
        }
    }
}

/// `--size -3` reads to argument-parser as an option named `-3` ("Missing value for '--size'"): a negative
/// number after an option is joined to it (`--size=-3`), so that the option's own check names the problem.
func joiningNegativeValues(_ args: [String]) -> [String] {
    var out: [String] = []
    var i = 0
    while i < args.count {
        let a = args[i]
        if a.hasPrefix("--"), !a.contains("="), i + 1 < args.count,
           args[i + 1].range(of: #"^-(\d|\.\d|inf|nan)"#, options: [.regularExpression, .caseInsensitive]) != nil {
            out.append(a + "=" + args[i + 1])
            i += 2
        } else {
            out.append(a)
            i += 1
        }
    }
    return out
}

/// SIGINT/SIGTERM for every command but `audit` (which has its own): remove the temporaries this process
/// holds (a report's staging folder, a file being written) and exit 130/143.
enum SignalCleanup {
    nonisolated(unsafe) static var sources: [DispatchSourceSignal] = []

    static func install() {
        let queue = DispatchQueue(label: "medpfl.signals")
        for sig in [SIGINT, SIGTERM] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: queue)
            source.setEventHandler {
                Temporaries.removeAll()
                _exit(sig == SIGINT ? 130 : 143)
            }
            source.resume()
            sources.append(source)
        }
    }
}

/// Bad input: printed as one line, exit code 2.
struct InputError: Error {
    let message: String
    init(_ message: String) { self.message = message }
}

/// Runs `body`, turning any error it throws into bad input (exit 2) with the error's own one-line text.
func input<T>(_ body: () throws -> T) throws -> T {
    do { return try body() } catch let e as InputError { throw e } catch {
        throw InputError(String(describing: error).split(separator: "\n").first.map(String.init) ?? "\(error)")
    }
}

func printJSON<T: Encodable>(_ value: T) throws {
    let enc = JSONEncoder()
    enc.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    enc.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
    FileHandle.standardOutput.write(try enc.encode(value))
    FileHandle.standardOutput.write(Data("\n".utf8))
}

func note(_ s: String) { FileHandle.standardError.write(Data((TerminalText.safe(s) + "\n").utf8)) }
