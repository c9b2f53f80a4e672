import ArgumentParser
import Attacks
import Foundation
import NN

/// `medpfl check-model`: the client-side check a site runs on a model received from the server.
struct CheckModelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-model",
        abstract: "Check a received model for a malicious server's imprint block before training on it.",
        discussion: """
        A malicious server can put an imprint block in front of the model it sends (Fowl et al. 2022, "Robbing \
        the Fed"): a layer whose rows all measure one statistic of the input, with biases at that statistic's \
        quantiles; the update computed on it hands whole images to the server. This command reads every linear \
        and convolution weight of the model and flags a layer of at least \(ImprintCheck.minimumRows) rows in which \
        at least 90 % of the rows are multiples of one vector (|cosine| >= \(ImprintCheck.collinearCosine)); \
        monotone biases along those rows are reported as further evidence. Exit status: 0 when no layer has \
        the structure, 1 when one has (do not train on it), 2 for bad input.
        """)

    @OptionGroup var model: ModelOptions
    @Flag(help: "Print JSON on stdout.") var json = false

    func run() throws {
        let loaded = try model.load(batch: 1)
        let findings = ImprintCheck.check(loaded.model, state: loaded.state)
        let flagged = findings.filter(\.flagged)
        if json {
            struct Out: Encodable { let model: String; let tensorsChecked: Int; let imprintStructure: Bool; let findings: [ImprintCheck.Finding] }
            try printJSON(Out(model: loaded.model.name, tensorsChecked: findings.count, imprintStructure: !flagged.isEmpty, findings: findings))
        } else if flagged.isEmpty {
            print("\(loaded.model.name): no imprint structure in \(findings.count) linear/convolution weights")
        } else {
            for f in flagged {
                print("IMPRINT STRUCTURE: \(f.tensor): \(f.collinearRows) of \(f.rows) rows are multiples of one vector"
                      + (f.monotoneBias == true ? ", biases monotone" : ""))
            }
            print("\(loaded.model.name): do not train on this model: \(flagged.count) layer\(flagged.count == 1 ? " has" : "s have") the structure of an imprint block")
        }
        if !flagged.isEmpty { throw ExitCode(1) }
    }
}
