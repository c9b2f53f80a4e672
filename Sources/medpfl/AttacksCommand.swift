import ArgumentParser
import Attacks

/// `medpfl attacks`: the registered attacks, their citations, threat models and settings.
struct AttacksCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "attacks",
        abstract: "List the attacks medpfl runs, with their citations, threat models and settings (defaults).",
        discussion: "With --markdown: the table of audits/SCHEMA.md's Attacks section (a test checks that it is current).")

    @Flag(help: "Print the Markdown table of audits/SCHEMA.md.") var markdown = false

    func run() throws {
        print(markdown ? AttackRegistry.markdown : AttackRegistry.text, terminator: markdown ? "" : "\n")
    }
}
