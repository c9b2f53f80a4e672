import Dispatch
import Foundation
import Imaging
import SafeIO
import Tensor

/// Per-step losses of running attacks, for `--trace` (JSON lines: update, step, loss).
/// `@unchecked Sendable`: safe because `append` holds its lock, and `write` runs after every worker finished.
final class TraceLog: @unchecked Sendable {
    let lock = NSLock()
    var lines: [String] = []
    func append(_ job: Int, _ step: Int, _ loss: Double) {
        let l = "{\"update\": \(job), \"step\": \(step), \"loss\": \(loss.isFinite ? String(loss) : "null")}"
        lock.lock(); lines.append(l); lock.unlock()
    }
    func write(to path: String) throws {
        let text = lines.joined(separator: "\n") + "\n"
        try input { try PrivateFile.write(text, to: path) }
    }
}

/// One progress line on stderr: samples done, current iteration and loss, ETA.
/// `@unchecked Sendable`: safe because every update of its state holds its lock.
final class ProgressLine: @unchecked Sendable {
    let total: Int, enabled: Bool, start = Date()
    let lock = NSLock()
    var state: [Int: (Int, Int, Double)] = [:]
    var last = Date.distantPast
    init(total: Int, enabled: Bool) { self.total = total; self.enabled = enabled && total > 0 }

    func update(_ job: Int, _ it: Int, _ of: Int, _ loss: Double) {
        guard enabled else { return }
        lock.lock(); defer { lock.unlock() }
        state[job] = (it, of, loss)
        let now = Date()
        guard now.timeIntervalSince(last) > 0.25 else { return }
        last = now
        let fraction = state.values.reduce(0.0) { $0 + Double($1.0) / Double(max($1.1, 1)) } / Double(total)
        let elapsed = now.timeIntervalSince(start)
        let eta = fraction > 0.01 ? elapsed / fraction - elapsed : .nan
        let done = state.values.filter { $0.0 >= $0.1 }.count
        let line = String(format: "\r[%d/%d done] sample %d: iteration %d/%d, loss %.3e, elapsed %.0f s, ETA %@   ",
                          done, total, job + 1, it, of, loss, elapsed, eta.isFinite ? String(format: "%.0f s", eta) : "--")
        FileHandle.standardError.write(Data(line.utf8))
    }
    func finish() { if enabled { FileHandle.standardError.write(Data("\n".utf8)) } }
}

/// Text from users or from a log (site names, labels, paths, versions, error messages) is printed with every
/// control character escaped: an ANSI/OSC escape or a carriage return in a site name cannot recolour,
/// retitle or clear the terminal, nor overwrite a line with a fake verdict. Bidirectional overrides (which can
/// reorder what is shown) are escaped too.
enum TerminalText {
    /// `text` with control and format characters escaped, keeping line breaks and tabs (whole outputs).
    static func safe(_ text: String) -> String { ControlCharacters.escaped(text, keepLines: true) }

    /// `text` on one line: line breaks and tabs escaped as well (one field: a site name, a table cell).
    static func oneLine(_ text: String) -> String { ControlCharacters.escaped(text) }
}

/// Every line medpfl prints goes through `TerminalText.safe` (this shadows the standard library's `print`
/// inside the command-line module).
func print(_ items: Any..., separator: String = " ", terminator: String = "\n") {
    Swift.print(TerminalText.safe(items.map { "\($0)" }.joined(separator: separator)), terminator: terminator)
}
