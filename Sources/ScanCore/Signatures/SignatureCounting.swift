/// Counting the signatures in a plain database file, pure over its bytes so a file of any size can
/// be fed through in chunks.
public struct SignatureLineCounter: Sendable {
    /// How a format's signatures are counted.
    public enum Rule: Sendable, Hashable {
        /// One signature per line that is not empty (after trimming blanks) and not a `#` comment.
        case lines
        /// One signature per YARA `rule` declaration (`rule`, `private rule`, `global rule` at the
        /// start of a line).
        case yaraRules
        /// The whole file is one signature (bytecode `.cbc`).
        case wholeFile
    }

    public let rule: Rule
    public private(set) var count = 0
    private var line: [UInt8] = []
    private var lineHasContent = false
    private var sawBytes = false

    public init(rule: Rule) { self.rule = rule }

    /// The rule for a database format (its file extension, without the dot).
    public static func rule(forFormat format: String) -> Rule {
        switch format {
        case "yar", "yara": .yaraRules
        case "cbc": .wholeFile
        default: .lines
        }
    }

    /// Feeds the next chunk of the file.
    public mutating func feed<C: Collection>(_ chunk: C) where C.Element == UInt8 {
        if !chunk.isEmpty { sawBytes = true }
        if rule == .wholeFile { return }
        for byte in chunk {
            if byte == 0x0A {
                endLine()
            } else if rule == .yaraRules {
                if line.count < 16 { line.append(byte) }
            } else if !lineHasContent, byte != 0x20, byte != 0x09, byte != 0x0D {
                // The first non-blank byte decides: a comment or a signature.
                lineHasContent = true
                if byte != UInt8(ascii: "#") { count += 1 }
            }
        }
    }

    private mutating func endLine() {
        if rule == .yaraRules {
            var text = Substring(String(decoding: line, as: UTF8.self))
            text = text.drop { $0 == " " || $0 == "\t" }
            for prefix in ["private ", "global "] where text.hasPrefix(prefix) {
                text = text.dropFirst(prefix.count).drop { $0 == " " }
            }
            if text.hasPrefix("rule ") || text.hasPrefix("rule\t") { count += 1 }
            line.removeAll(keepingCapacity: true)
        }
        lineHasContent = false
    }

    /// The count once the whole file has been fed.
    public mutating func finish() -> Int {
        switch rule {
        case .wholeFile: return sawBytes ? 1 : 0
        case .yaraRules:
            if !line.isEmpty { endLine() }
            return count
        case .lines: return count
        }
    }

    /// Counts the signatures in a whole file's bytes.
    public static func count<C: Collection>(_ bytes: C, format: String) -> Int where C.Element == UInt8 {
        var counter = SignatureLineCounter(rule: rule(forFormat: format))
        counter.feed(bytes)
        return counter.finish()
    }
}
