/// Large synthetic signature databases for benchmarks: the kinds and proportions of the official
/// database (hash signatures are 97–98% of it; body and logical signatures, which set the per-byte
/// scan cost, are the rest), random but deterministic for a seed. Every size also holds the small
/// fixture database (``SignatureFixtures``), so EICAR and the crafted files are detected with it.
///
/// Signatures are random: none matches a real file (the hash signatures hash nothing, the body
/// and logical patterns are random bytes, some behind prefixes that occur in documents so the
/// matcher does real verification work).
public enum SyntheticDatabase {
    /// The generated sizes.
    public enum Size: String, CaseIterable, Sendable {
        /// Only the small fixture database (5 signatures).
        case small
        /// ~522k signatures: loads in well under a second.
        case medium
        /// ~4.1M signatures.
        case large
        /// ~8.6M signatures: the official database's size (about 14 s and 1.3 GB to load).
        case full
    }

    /// How many signatures of each kind.
    public struct Mix: Sendable, Hashable {
        /// MD5 file hashes (`.hdb`).
        public var md5: Int
        /// SHA-256 file hashes (`.hsb`).
        public var sha256: Int
        /// MD5 PE section hashes (`.mdb`).
        public var peSectionMD5: Int
        /// SHA-256 PE section hashes (`.msb`).
        public var peSectionSHA256: Int
        /// Body signatures with wildcards (`.ndb`).
        public var body: Int
        /// Logical signatures (`.ldb`).
        public var logical: Int

        public var total: Int { md5 + sha256 + peSectionMD5 + peSectionSHA256 + body + logical }

        public init(md5: Int, sha256: Int, peSectionMD5: Int, peSectionSHA256: Int, body: Int, logical: Int) {
            self.md5 = md5
            self.sha256 = sha256
            self.peSectionMD5 = peSectionMD5
            self.peSectionSHA256 = peSectionSHA256
            self.body = body
            self.logical = logical
        }
    }

    /// The mix for each size (the small fixture's 5 signatures come on top).
    public static func mix(_ size: Size) -> Mix {
        switch size {
        case .small: Mix(md5: 0, sha256: 0, peSectionMD5: 0, peSectionSHA256: 0, body: 0, logical: 0)
        case .medium:
            Mix(md5: 250_000, sha256: 100_000, peSectionMD5: 120_000, peSectionSHA256: 30_000, body: 20_000, logical: 2_000)
        case .large:
            Mix(md5: 2_000_000, sha256: 800_000, peSectionMD5: 1_000_000, peSectionSHA256: 220_000, body: 80_000, logical: 8_000)
        case .full:
            Mix(md5: 4_200_000, sha256: 1_900_000, peSectionMD5: 2_050_000, peSectionSHA256: 300_000, body: 160_000, logical: 16_000)
        }
    }

    /// Writes the database for `size` into `directory` (created if needed): the small fixture
    /// files plus `synthetic.hdb`, `.hsb`, `.mdb`, `.msb`, `.ndb`, `.ldb`. Returns the number of
    /// signatures written.
    @discardableResult
    public static func write(_ size: Size, to directory: String, seed: UInt64 = 1) throws -> Int {
        try write(mix(size), to: directory, seed: seed)
    }

    /// Writes a database with a custom mix (tests use small ones) plus the small fixture files.
    /// Returns the number of signatures written.
    @discardableResult
    public static func write(_ mix: Mix, to directory: String, seed: UInt64 = 1) throws -> Int {
        try SignatureFixtures.writeSmall(to: directory)
        if mix.total == 0 { return 5 }
        let base = directory + "/synthetic"
        try writeHashes(base + ".hdb", count: mix.md5, digestBytes: 16, sizeFirst: false, seed: seed &+ 1)
        try writeHashes(base + ".hsb", count: mix.sha256, digestBytes: 32, sizeFirst: false, seed: seed &+ 2)
        try writeHashes(base + ".mdb", count: mix.peSectionMD5, digestBytes: 16, sizeFirst: true, seed: seed &+ 3)
        try writeHashes(base + ".msb", count: mix.peSectionSHA256, digestBytes: 32, sizeFirst: true, seed: seed &+ 4)
        try writeBody(base + ".ndb", count: mix.body, seed: seed &+ 5)
        try writeLogical(base + ".ldb", count: mix.logical, seed: seed &+ 6)
        return mix.total + 5
    }

    // MARK: - Names

    private static let platforms = [
        "Win", "Doc", "Xls", "Pdf", "Html", "Js", "Email", "Unix", "Andr", "Osx", "Java", "Img", "Rtf", "Vbs",
    ]
    private static let categories = [
        "Trojan", "Malware", "Downloader", "Exploit", "Phishing", "Dropper", "Packed", "Worm", "Ransomware",
        "Spyware", "Adware", "Coinminer", "Backdoor", "Keylogger",
    ]
    private static let families = [
        "Agent", "Emotet", "Zbot", "Qakbot", "Formbook", "Lokibot", "AgentTesla", "Remcos", "Nanocore", "Ursnif",
        "Dridex", "Trickbot", "IcedID", "Valyria", "Generic", "Kryptik", "Razy", "Zusy", "Injector", "Obfus",
    ]

    private static func appendName(_ out: inout [UInt8], _ rng: inout SplitMix64, serial: Int) {
        out += platforms[Int(rng.next() % UInt64(platforms.count))].utf8
        out.append(UInt8(ascii: "."))
        out += categories[Int(rng.next() % UInt64(categories.count))].utf8
        out.append(UInt8(ascii: "."))
        out += families[Int(rng.next() % UInt64(families.count))].utf8
        out.append(UInt8(ascii: "-"))
        appendDecimal(&out, 9_000_000 + serial)
        out += Array("-0".utf8)
    }

    // MARK: - Writers

    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    @inline(__always)
    private static func appendHex(_ out: inout [UInt8], _ value: UInt64, bytes: Int) {
        var v = value
        for _ in 0..<bytes {
            out.append(hexDigits[Int(v & 0xF)])
            out.append(hexDigits[Int((v >> 4) & 0xF)])
            v >>= 8
        }
    }

    @inline(__always)
    private static func appendRandomHex(_ out: inout [UInt8], _ rng: inout SplitMix64, bytes: Int) {
        var left = bytes
        while left > 0 {
            let n = min(8, left)
            appendHex(&out, rng.next(), bytes: n)
            left -= n
        }
    }

    private static func appendDecimal(_ out: inout [UInt8], _ value: Int) {
        if value == 0 {
            out.append(UInt8(ascii: "0"))
            return
        }
        var digits: [UInt8] = []
        var v = value
        while v > 0 {
            digits.append(UInt8(ascii: "0") + UInt8(v % 10))
            v /= 10
        }
        out += digits.reversed()
    }

    /// `hash:size:Name` (`.hdb`/`.hsb`) or `size:hash:Name` (`.mdb`/`.msb`).
    private static func writeHashes(_ path: String, count: Int, digestBytes: Int, sizeFirst: Bool, seed: UInt64) throws {
        let writer = try BufferedWriter(path: path)
        var rng = SplitMix64(seed: seed)
        var line: [UInt8] = []
        line.reserveCapacity(160)
        var chunk: [UInt8] = []
        chunk.reserveCapacity(1 << 20)
        for serial in 0..<count {
            line.removeAll(keepingCapacity: true)
            // File sizes of real samples: mostly 10 KB to 2 MB; PE sections 512 B to 512 KB.
            let size = sizeFirst ? 512 * (1 + Int(rng.next() % 1024)) : 10_000 + Int(rng.next() % 2_000_000)
            if sizeFirst {
                appendDecimal(&line, size)
                line.append(UInt8(ascii: ":"))
                appendRandomHex(&line, &rng, bytes: digestBytes)
            } else {
                appendRandomHex(&line, &rng, bytes: digestBytes)
                line.append(UInt8(ascii: ":"))
                appendDecimal(&line, size)
            }
            line.append(UInt8(ascii: ":"))
            appendName(&line, &rng, serial: serial)
            line.append(0x0A)
            chunk += line
            if chunk.count >= (1 << 20) - 256 {
                writer.write(chunk)
                chunk.removeAll(keepingCapacity: true)
            }
        }
        writer.write(chunk)
        try writer.close()
    }

    /// Byte strings common in documents, web pages and executables: patterns that start with one
    /// are checked in full wherever the prefix occurs, as real signatures are.
    private static let commonPrefixes: [[UInt8]] = [
        Array("<script".utf8), Array("stream".utf8), Array("obj".utf8), Array("<w:".utf8), Array("<?xml".utf8),
        Array("function".utf8), Array("http".utf8), Array("MZ".utf8), [0x00, 0x00, 0x00], Array("eval(".utf8),
        Array("/JavaScript".utf8), Array("<iframe".utf8), Array("PK".utf8), Array("var ".utf8),
    ]

    private static func appendPatternSegment(_ out: inout [UInt8], _ rng: inout SplitMix64, minBytes: Int, maxBytes: Int) {
        let n = minBytes + Int(rng.next() % UInt64(maxBytes - minBytes + 1))
        appendRandomHex(&out, &rng, bytes: n)
    }

    /// A hex pattern: 2–4 random segments joined by wildcards (`??`, `{n-m}`, `*`, an
    /// alternative `(aa|bb)`), 30% of them behind a common prefix.
    private static func appendPattern(_ out: inout [UInt8], _ rng: inout SplitMix64) {
        if rng.next() % 10 < 3 {
            let prefix = commonPrefixes[Int(rng.next() % UInt64(commonPrefixes.count))]
            for byte in prefix { appendHex(&out, UInt64(byte), bytes: 1) }
        }
        appendPatternSegment(&out, &rng, minBytes: 4, maxBytes: 12)
        let segments = 1 + Int(rng.next() % 3)
        for _ in 0..<segments {
            switch rng.next() % 10 {
            case 0...3: out += Array("??".utf8)
            case 4...6:
                let low = Int(rng.next() % 8)
                out.append(UInt8(ascii: "{"))
                appendDecimal(&out, low)
                out.append(UInt8(ascii: "-"))
                appendDecimal(&out, low + 1 + Int(rng.next() % 24))
                out.append(UInt8(ascii: "}"))
            case 7:
                out.append(UInt8(ascii: "*"))
            default:
                out.append(UInt8(ascii: "("))
                appendRandomHex(&out, &rng, bytes: 1)
                out.append(UInt8(ascii: "|"))
                appendRandomHex(&out, &rng, bytes: 1)
                out.append(UInt8(ascii: ")"))
            }
            appendPatternSegment(&out, &rng, minBytes: 3, maxBytes: 10)
        }
    }

    /// `Name:Target:Offset:HexSignature`, targets any (0), PE (1), HTML (3), text (7).
    private static func writeBody(_ path: String, count: Int, seed: UInt64) throws {
        let writer = try BufferedWriter(path: path)
        var rng = SplitMix64(seed: seed)
        var out: [UInt8] = []
        out.reserveCapacity(1 << 20)
        for serial in 0..<count {
            appendName(&out, &rng, serial: serial)
            let roll = rng.next() % 20
            let target = roll < 10 ? "0" : roll < 15 ? "1" : roll < 17 ? "3" : "7"
            let offset = rng.next() % 10 == 0 ? "0" : "*"
            out += Array(":\(target):\(offset):".utf8)
            appendPattern(&out, &rng)
            out.append(0x0A)
            if out.count >= (1 << 20) - 512 {
                writer.write(out)
                out.removeAll(keepingCapacity: true)
            }
        }
        writer.write(out)
        try writer.close()
    }

    private static let logicalExpressions = ["0&1", "(0|1)&2", "0&1&2", "0&(1|2|3)", "0&1&2&3", "(0&1)|(2&3)"]

    /// `Name;Engine:51-255,Target:T;Expression;Subsig0;Subsig1;…`
    private static func writeLogical(_ path: String, count: Int, seed: UInt64) throws {
        let writer = try BufferedWriter(path: path)
        var rng = SplitMix64(seed: seed)
        var out: [UInt8] = []
        out.reserveCapacity(1 << 20)
        for serial in 0..<count {
            appendName(&out, &rng, serial: serial)
            let target = ["0", "0", "1", "3", "7", "10", "12"][Int(rng.next() % 7)]
            let expression = logicalExpressions[Int(rng.next() % UInt64(logicalExpressions.count))]
            let subsignatures = expression.contains("3") ? 4 : expression.contains("2") ? 3 : 2
            out += Array(";Engine:51-255,Target:\(target);\(expression)".utf8)
            for _ in 0..<subsignatures {
                out.append(UInt8(ascii: ";"))
                appendPattern(&out, &rng)
            }
            out.append(0x0A)
            if out.count >= (1 << 20) - 1024 {
                writer.write(out)
                out.removeAll(keepingCapacity: true)
            }
        }
        writer.write(out)
        try writer.close()
    }
}
