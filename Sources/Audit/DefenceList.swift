import Federated
import Foundation
import Yams

/// Reads the `defences:` list of an audit file: spec strings (`laplace:level=100`, `dp:clip=4,sigma=0.5`)
/// and sweeps (`{laplace: {levels: [100, 200]}}`, `{gaussian: {relative: [0.1, 0.5]}}`,
/// `{dp: {clip: 4, sigmas: [0.1, 1]}}`), each sweep expanding to one spec per combination of its list
/// values. Every spec goes through `DefenceSpec(parsing:)`; errors name the entry and its line.
enum DefenceList {
    /// Plural parameter names accepted in sweeps and the spec parameter they stand for.
    static let plurals = ["levels": "level", "scales": "scale", "sigmas": "sigma", "clips": "clip",
                          "epsilons": "epsilon", "norms": "norm", "deltas": "delta", "relatives": "relative"]

    static func parse(_ node: YAMLNode) throws -> [(DefenceSpec, line: Int?)] {
        var out: [(DefenceSpec, line: Int?)] = []
        var seen: [DefenceSpec: String] = [:]
        for item in try node.sequence() {
            for (text, line) in try specs(of: item) {
                let spec: DefenceSpec
                do { spec = try DefenceSpec(parsing: text) } catch let e as DefenceSpecError {
                    throw DefinitionError(file: item.file, line: line, keyPath: item.path, message: e.message)
                }
                if let first = seen[spec] {
                    throw DefinitionError(file: item.file, line: line, keyPath: item.path,
                                          message: "defence '\(spec)' is listed twice (also at \(first))")
                }
                seen[spec] = item.path
                out.append((spec, line))
            }
        }
        guard !out.isEmpty else { throw node.fail("list at least one defence setting (e.g. none)") }
        return out
    }

    /// The spec strings an entry stands for.
    static func specs(of item: YAMLNode) throws -> [(String, Int?)] {
        if case .scalar = item.node { return [(try item.string(), item.line)] }
        guard case let .mapping(m) = item.node, m.count == 1, let (k, v) = m.first.map({ ($0.key, $0.value) }),
              let name = k.string else {
            throw item.fail("expected a spec string (e.g. laplace:level=100) or a sweep with one defence name "
                            + "(e.g. {laplace: {levels: [100, 200]}})")
        }
        let sweep = item.child(v, key: name)
        guard case let .mapping(params) = v else {
            throw sweep.fail("expected the defence's parameters as a mapping, e.g. {levels: [100, 200]}")
        }
        var axes: [(key: String, values: [String])] = []
        for (pk, pv) in params {
            guard let raw = pk.string else { throw sweep.fail("parameter names must be plain text") }
            let key = plurals[raw] ?? raw
            let param = sweep.child(pv, key: raw)
            var values: [String] = []
            switch pv {
            case .scalar: values = [try param.string()]
            case .sequence:
                values = try param.sequence().map { try $0.string() }
                guard !values.isEmpty else { throw param.fail("the list of values is empty") }
            default: throw param.fail("expected a value or a list of values")
            }
            // A bare flag such as `quantize: {sign: true}`.
            if values == ["true"] { axes.append((key, [""])) } else { axes.append((key, values)) }
        }
        var combos: [[String]] = [[]]
        for axis in axes {
            combos = combos.flatMap { prefix in axis.values.map { prefix + [$0.isEmpty ? axis.key : "\(axis.key)=\($0)"] } }
        }
        return combos.map { parts in (parts.isEmpty ? name : "\(name):" + parts.joined(separator: ","), v.mark?.line ?? item.line) }
    }
}
