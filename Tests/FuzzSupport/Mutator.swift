import Foundation

/// Seeded mutations of valid inputs for the fuzz tests: every test can be replayed from its seed, and a
/// failure names the seed and the mutation index.
public struct Mutator {
    private var state: UInt64

    /// `n` times MEDPFL_FUZZ_SCALE (default 1): the suite runs the committed counts; a long run sets the scale.
    public static func iterations(_ n: Int) -> Int {
        n * max(1, Int(ProcessInfo.processInfo.environment["MEDPFL_FUZZ_SCALE"] ?? "") ?? 1)
    }

    public init(seed: UInt64) { state = seed &* 0x9E37_79B9_7F4A_7C15 | 1 }

    /// SplitMix64.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    public mutating func below(_ n: Int) -> Int { n <= 1 ? 0 : Int(next() % UInt64(n)) }

    /// Values that break parsers: boundaries, huge, negative, non-finite.
    public static let interesting: [String] = ["0", "-1", "1", "2", "-0", "65535", "65536", "2147483647", "2147483648", "-2147483649",
                                               "4294967296", "9223372036854775807", "9223372036854775808", "1e308", "1e309", "-1e309",
                                               "nan", ".nan", "inf", ".inf", "-.inf", "0.5", "1e-320", "100000", "16385", ""]

    /// One to four byte-level mutations of `input`: bit flips, random bytes, deletions, duplications,
    /// truncation, and 32-bit big/little-endian boundary values written over 4 bytes (lengths, sizes).
    public mutating func bytes(_ input: [UInt8]) -> [UInt8] {
        var b = input
        for _ in 0..<(1 + below(4)) {
            guard !b.isEmpty else { b = [UInt8(truncatingIfNeeded: next())]; continue }
            let i = below(b.count)
            switch below(7) {
            case 0: b[i] ^= UInt8(1 << below(8))
            case 1: b[i] = UInt8(truncatingIfNeeded: next())
            case 2: b.removeSubrange(i..<min(b.count, i + 1 + below(16)))
            case 3: let j = min(b.count, i + 1 + below(32)); b.insert(contentsOf: b[i..<j], at: below(b.count))
            case 4: b = Array(b.prefix(below(b.count)))
            case 5:
                let v: UInt32 = [0, 1, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF, 0xFFFF, 0x10000][below(7)]
                for k in 0..<4 where i + k < b.count { b[i + k] = UInt8(truncatingIfNeeded: v >> (8 * (3 - k))) }
            default: b.insert(UInt8(truncatingIfNeeded: next()), at: i)
            }
        }
        return b
    }

    /// One to three text mutations: a number replaced by an `interesting` value, a line deleted or
    /// duplicated, a character inserted (control characters and YAML punctuation included), a tail cut off.
    public mutating func text(_ input: String) -> String {
        var lines = input.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        for _ in 0..<(1 + below(3)) {
            guard !lines.isEmpty else { lines = [Self.interesting[below(Self.interesting.count)]]; continue }
            let i = below(lines.count)
            switch below(6) {
            case 0:
                // Replace the first number (or the value after ':') with an interesting value.
                var l = lines[i]
                if let r = l.range(of: #"-?[0-9]+(\.[0-9]+)?(e-?[0-9]+)?"#, options: .regularExpression) {
                    l.replaceSubrange(r, with: Self.interesting[below(Self.interesting.count)])
                } else if let c = l.firstIndex(of: ":") {
                    l = String(l[...c]) + " " + Self.interesting[below(Self.interesting.count)]
                }
                lines[i] = l
            case 1: lines.remove(at: i)
            case 2: lines.insert(lines[i], at: below(lines.count + 1))
            case 3:
                let chars: [String] = ["\u{0}", "\u{1B}", "\t", "\r", ":", "-", "[", "]", "{", "}", "&", "*", "!", "|", ">", "'", "\"", "#", ",", "%", "@", "`", " ", "é", "\u{202E}"]
                var l = Array(lines[i])
                l.insert(Character(chars[below(chars.count)]), at: below(l.count + 1))
                lines[i] = String(l)
            case 4: lines = Array(lines.prefix(i))
            default:
                var l = Array(lines[i])
                if !l.isEmpty { l.remove(at: below(l.count)) }
                lines[i] = String(l)
            }
        }
        return lines.joined(separator: "\n")
    }
}
