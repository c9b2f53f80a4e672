import ArgumentParser
import Audit
import Foundation
import SafeIO
import Tensor

/// Version of the tool, recorded in every audit.
let medpflVersion = "0.1.0"

@main
struct MedPFL: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "medpfl",
        abstract: "Privacy audit of federated-learning updates against gradient-leakage attacks.",
        discussion: """
        Exit codes: 0 success; 2 bad input (missing or corrupt file, unknown model, malformed spec); \
        1 internal error. `medpfl audit` adds 3: risk at or above --fail-on.
        """,
        version: medpflVersion,
        subcommands: [UpdateCommand.self, AttackCommand.self, AttacksCommand.self, MetricsCommand.self, BenchCommand.self, TrainCommand.self, DPEpsilonCommand.self, AuditCommand.self, HistoryCommand.self, ShowCommand.self, CompareCommand.self, MergeCommand.self, MigrateCommand.self, ReportCommand.self])

    static func main() {
        Engine.configureForThroughput()
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch let e as InputError {
            FileHandle.standardError.write(Data("medpfl: error: \(e.message)\n".utf8))
            Foundation.exit(2)
        } catch let e as FileError {
            // A file that cannot be read or written safely (missing, a FIFO, a link, a full disk): bad input.
            FileHandle.standardError.write(Data("medpfl: error: \(e.description)\n".utf8))
            Foundation.exit(2)
        } catch let e as AuditError {
            // Bad input (a damaged or foreign log, a wrong id) exits 2; a refusal of the store 1; one line each.
            FileHandle.standardError.write(Data("medpfl: error: \(e.description)\n".utf8))
            Foundation.exit(e.isInput ? 2 : 1)
        } catch {
            let code = exitCode(for: error)
            if code == .success || error is CleanExit { exit(withError: error) }
            if code == .validationFailure || error is ValidationError || "\(type(of: error))".contains("CommandError") {
                // One line naming the problem (the usage is one `--help` away).
                let line = message(for: error).split(separator: "\n").first.map(String.init) ?? "\(error)"
                FileHandle.standardError.write(Data("medpfl: error: \(line)\n".utf8))
                Foundation.exit(2)
            }
            exit(withError: error)
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

func note(_ s: String) { FileHandle.standardError.write(Data((s + "\n").utf8)) }
