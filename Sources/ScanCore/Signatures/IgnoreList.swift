/// A ClamAV ignore list (`.ign2`, formerly `.ign`): signatures libclamav must not load.
///
/// Each entry line is `SignatureName` or `SignatureName:MD5` (the MD5 of the signature line it
/// ignores); the old `.ign` form is `database:line:SignatureName`. Lines starting with `#` are
/// comments. libclamav compares the names as written in the database, before it appends
/// `.UNOFFICIAL` to names from unsigned databases (see ``databaseName(forReported:)``).
///
/// The type is pure: it parses text, edits entries, and renders text in which every line it did
/// not add or remove is kept byte for byte (comments, blank lines, odd spacing, CRLF endings).
public struct IgnoreList: Sendable, Hashable {
    /// One ignored signature.
    public struct Entry: Sendable, Hashable {
        /// The signature name as written in the database.
        public var signature: String
        /// The MD5 of the one signature line to ignore, when the entry names one.
        public var md5: String?

        public init(signature: String, md5: String? = nil) {
            self.signature = signature
            self.md5 = md5
        }
    }

    private enum Line: Sendable, Hashable {
        case entry(Entry, text: String)
        case other(String)
    }

    private var lines: [Line]
    private var endsWithNewline: Bool

    /// An empty list.
    public init() {
        lines = []
        endsWithNewline = true
    }

    /// Parses the text of an `.ign2` or `.ign` file. Never fails: a line that is not an entry is
    /// kept as it is and not counted.
    public init(parsing text: String) {
        // Split on the byte, not the Character: "\r\n" is one Character in Swift.
        var parts = text.utf8.split(separator: 0x0A, omittingEmptySubsequences: false).map {
            String(decoding: $0, as: UTF8.self)
        }
        endsWithNewline = text.isEmpty || text.hasSuffix("\n")
        if endsWithNewline, !parts.isEmpty { parts.removeLast() }
        lines = parts.map { raw in
            if let entry = IgnoreList.entry(in: raw) { .entry(entry, text: raw) } else { .other(raw) }
        }
    }

    /// The entry a line holds, if any (`nil` for comments, blank and malformed lines).
    static func entry(in raw: String) -> Entry? {
        var text = Substring(raw)
        if text.utf8.last == 0x0D { text = Substring(text.utf8.dropLast()) }
        text = text.drop { $0 == " " || $0 == "\t" }
        while let last = text.last, last == " " || last == "\t" { text = text.dropLast() }
        if text.isEmpty || text.hasPrefix("#") { return nil }
        let tokens = text.split(separator: ":", omittingEmptySubsequences: false)
        switch tokens.count {
        case 1: return Entry(signature: String(tokens[0]))
        case 2 where !tokens[0].isEmpty: return Entry(signature: String(tokens[0]), md5: String(tokens[1]))
        case 3 where !tokens[2].isEmpty: return Entry(signature: String(tokens[2]))
        default: return nil
        }
    }

    /// The entries, in file order (a name listed twice appears twice).
    public var entries: [Entry] {
        lines.compactMap { if case .entry(let entry, _) = $0 { entry } else { nil } }
    }

    /// The distinct ignored signature names, in file order.
    public var signatures: [String] {
        var seen = Set<String>()
        return entries.map(\.signature).filter { seen.insert($0).inserted }
    }

    /// Whether `signature` is ignored (by any entry naming it).
    public func contains(_ signature: String) -> Bool {
        lines.contains { if case .entry(let entry, _) = $0 { entry.signature == signature } else { false } }
    }

    /// Adds a whole-signature entry for `signature` at the end, unless one is already there.
    ///
    /// - Returns: `false` when the list already ignored it (nothing changed).
    /// - Throws: `.invalidSignatureName` when the name cannot be written (see ``validate(signatureName:)``).
    @discardableResult
    public mutating func add(_ signature: String) throws(SignatureDatabaseError) -> Bool {
        try IgnoreList.validate(signatureName: signature)
        if contains(signature) { return false }
        endsWithNewline = true
        lines.append(.entry(Entry(signature: signature), text: signature))
        return true
    }

    /// Removes every entry naming `signature` (with or without an MD5).
    ///
    /// - Returns: `false` when there was none (nothing changed).
    @discardableResult
    public mutating func remove(_ signature: String) -> Bool {
        let before = lines.count
        lines.removeAll { if case .entry(let entry, _) = $0 { entry.signature == signature } else { false } }
        return lines.count != before
    }

    /// The file's text: unchanged lines exactly as parsed, added entries one per line.
    public func rendered() -> String {
        if lines.isEmpty { return "" }
        let body = lines.map { line -> String in
            switch line {
            case .entry(_, let text): text
            case .other(let text): text
            }
        }.joined(separator: "\n")
        return endsWithNewline ? body + "\n" : body
    }

    /// Checks that `name` can be written as an ignore-list entry: 1 to 255 bytes of printable
    /// ASCII with no space, `:` (the field separator), `;` (the logical-signature separator),
    /// and not starting with `#` (a comment).
    public static func validate(signatureName name: String) throws(SignatureDatabaseError) {
        let bytes = Array(name.utf8)
        guard !bytes.isEmpty else {
            throw SignatureDatabaseError(.invalidSignatureName, "invalid signature name: the name is empty")
        }
        guard bytes.count <= 255 else {
            throw SignatureDatabaseError(
                .invalidSignatureName, "invalid signature name: \(bytes.count) bytes, the limit is 255")
        }
        if bytes[0] == UInt8(ascii: "#") {
            throw SignatureDatabaseError(
                .invalidSignatureName, "invalid signature name \"\(name)\": a line starting with # is a comment")
        }
        for byte in bytes {
            let printable = byte > 0x20 && byte < 0x7F
            if !printable || byte == UInt8(ascii: ":") || byte == UInt8(ascii: ";") {
                let shown = printable ? "\"\(Character(Unicode.Scalar(byte)))\"" : "byte 0x\(String(byte, radix: 16))"
                throw SignatureDatabaseError(
                    .invalidSignatureName,
                    "invalid signature name \"\(name.debugDescription.dropFirst().dropLast())\": it contains \(shown); "
                        + "names are printable ASCII without spaces, \":\" or \";\"")
            }
        }
    }

    /// The name to write in an ignore list for a name a scan reported: libclamav appends
    /// `.UNOFFICIAL` to names from unsigned databases but matches ignore entries against the name
    /// as written in the database, so the suffix is removed.
    public static func databaseName(forReported reported: String) -> String {
        let suffix = ".UNOFFICIAL"
        if reported.hasSuffix(suffix), reported.count > suffix.count { return String(reported.dropLast(suffix.count)) }
        return reported
    }
}
