/// The small signature database the tests load (into libclamav in-process, or into a real clamd),
/// and the crafted files its signatures detect.
///
/// Everything is generated at run time: the EICAR string comes from ``EICAR``, the crafted files
/// from ``CraftedFile``, and the signature lines are computed from those bytes.
///
/// libclamav appends `.UNOFFICIAL` to every name loaded from a plain (unsigned) database file, so
/// the names a scan reports are ``reported(_:)`` of the names written here: the EICAR signature is
/// written as `Eicar-Test-Signature` and reported as `Eicar-Test-Signature.UNOFFICIAL` (checked
/// with `clamscan -d DIR` and libclamav 1.4.6).
public enum SignatureFixtures {
    /// The name written for the EICAR body signature.
    public static let eicarSignature = "Eicar-Test-Signature"
    /// The name written for the EICAR MD5 hash signature (reported only when the body signature
    /// is not loaded, since a scan stops at the first match).
    public static let eicarHashSignature = "Eicar-Test-Signature-HDB"
    /// The suffix libclamav adds to names from unsigned databases.
    public static let unofficialSuffix = ".UNOFFICIAL"

    /// The name a scan reports for a signature `name` loaded from a plain database file.
    public static func reported(_ name: String) -> String { name + unofficialSuffix }

    /// The EICAR name as reported by a scan with the small database.
    public static var reportedEicar: String { reported(eicarSignature) }

    /// The files of the small database, by file name.
    public static func smallDatabaseFiles() -> [(name: String, contents: String)] {
        let eicar = EICAR.bytes
        var ndb = "# virus-scan-monitoring test body signatures\n"
        ndb += "\(eicarSignature):0:0:\(Checksums.hex(eicar))\n"
        ndb += CraftedFile.bodySignatureLine + "\n"
        var hdb = "\(Checksums.md5Hex(eicar)):\(eicar.count):\(eicarHashSignature)\n"
        let hashed = CraftedFile.hashed.bytes
        hdb += "\(Checksums.md5Hex(hashed)):\(hashed.count):\(CraftedFile.hashSignature)\n"
        let ldb = CraftedFile.logicalSignatureLine + "\n"
        return [("test.ndb", ndb), ("test.hdb", hdb), ("test.ldb", ldb)]
    }

    /// Writes the small database (`test.ndb`, `test.hdb`, `test.ldb`) into `directory`, creating it
    /// if needed. It detects EICAR (also inside a zip, which libclamav unpacks) as
    /// `Eicar-Test-Signature` and the detecting ``CraftedFile`` cases by their signatures.
    public static func writeSmall(to directory: String) throws {
        try FileOutput.makeDirectory(directory)
        for file in smallDatabaseFiles() {
            try FileOutput.write(file.contents, to: directory + "/" + file.name)
        }
    }

    /// A zip archive holding a text file and the EICAR file (`docs/readme.txt`, `eicar.com`).
    public static func eicarZip() -> [UInt8] {
        var zip = ZipArchive()
        zip.add("docs/readme.txt", Array("Quarterly report attached.\n".utf8))
        zip.add("eicar.com", EICAR.bytes)
        return zip.bytes
    }

    /// Writes one file of each kind the small database is tested with into `directory` and
    /// returns their paths with the verdict a scan must give (`nil`: clean).
    @discardableResult
    public static func writeSamples(to directory: String) throws -> [(path: String, signature: String?)] {
        try FileOutput.makeDirectory(directory)
        var out: [(String, String?)] = []
        let clean = directory + "/clean.txt"
        try FileOutput.write(Array("Nothing to see here.\n".utf8), to: clean)
        out.append((clean, nil))
        let eicar = directory + "/eicar.com"
        try FileOutput.write(EICAR.bytes, to: eicar)
        out.append((eicar, reportedEicar))
        let zip = directory + "/eicar.zip"
        try FileOutput.write(eicarZip(), to: zip)
        out.append((zip, reportedEicar))
        for crafted in CraftedFile.allCases {
            let path = directory + "/" + crafted.fileName
            try FileOutput.write(crafted.bytes, to: path)
            out.append((path, crafted.signature.map(reported)))
        }
        return out
    }
}

/// Crafted files that exercise each kind of signature in the small database.
public enum CraftedFile: String, CaseIterable, Sendable {
    /// Matches the body signature with wildcards (`{4-8}`, `??`, `*`).
    case bodyWildcard = "body-wildcard.bin"
    /// Matches the logical signature (subsignatures 0 and 2 of `0&(1|2)`).
    case logical = "logical.txt"
    /// Holds only subsignature 0 of the logical signature: must scan clean.
    case logicalPartial = "logical-partial.txt"
    /// Holds the body signature's first parts but a gap too wide for `{4-8}`: must scan clean.
    case bodyNearMiss = "body-near-miss.bin"
    /// Detected by its MD5 hash (`.hdb`).
    case hashed = "hashed.bin"

    public static let bodySignature = "VirusScan.Test.Body-1"
    public static let logicalSignature = "VirusScan.Test.Logical-1"
    public static let hashSignature = "VirusScan.Test.Hash-1"

    // The body signature: ALPHA {4-8} BRAVO ?? CHARLIE * DELTA.
    private static let alpha = Array("VSM-ALPHA:".utf8)
    private static let bravo = Array(":BRAVO".utf8)
    private static let charlie = Array("CHARLIE-".utf8)
    private static let delta = Array("-DELTA-END".utf8)
    // The logical signature's subsignatures.
    private static let sub0 = Array("vsm-logic-zero".utf8)
    private static let sub1 = Array("vsm-logic-one".utf8)
    private static let sub2 = Array("vsm-logic-two".utf8)

    /// `VirusScan.Test.Body-1:0:*:<ALPHA>{4-8}<BRAVO>??<CHARLIE>*<DELTA>`
    public static var bodySignatureLine: String {
        "\(bodySignature):0:*:\(Checksums.hex(alpha)){4-8}\(Checksums.hex(bravo))??"
            + "\(Checksums.hex(charlie))*\(Checksums.hex(delta))"
    }

    /// `VirusScan.Test.Logical-1;Engine:51-255,Target:0;0&(1|2);<sub0>;<sub1>;<sub2>`
    public static var logicalSignatureLine: String {
        "\(logicalSignature);Engine:51-255,Target:0;0&(1|2);\(Checksums.hex(sub0));"
            + "\(Checksums.hex(sub1));\(Checksums.hex(sub2))"
    }

    /// The file name the samples use.
    public var fileName: String { rawValue }

    /// The signature name (as written) a scan must report, `nil` for the files that must scan clean.
    public var signature: String? {
        switch self {
        case .bodyWildcard: CraftedFile.bodySignature
        case .logical: CraftedFile.logicalSignature
        case .hashed: CraftedFile.hashSignature
        case .logicalPartial, .bodyNearMiss: nil
        }
    }

    /// The file's bytes (deterministic).
    public var bytes: [UInt8] {
        var rng = SplitMix64(seed: 0x5EED_0000 &+ UInt64(rawValue.utf8.count))
        func filler(_ n: Int) -> [UInt8] {
            // Printable filler that cannot contain any of the markers.
            (0..<n).map { _ in UInt8(ascii: "a") &+ UInt8(rng.next() % 20) }
        }
        switch self {
        case .bodyWildcard:
            return filler(300) + CraftedFile.alpha + Array("123456".utf8) + CraftedFile.bravo + [0x00]
                + CraftedFile.charlie + filler(2000) + CraftedFile.delta + filler(100)
        case .bodyNearMiss:
            return filler(300) + CraftedFile.alpha + Array("1234567890".utf8) + CraftedFile.bravo + [0x00]
                + CraftedFile.charlie + filler(2000) + CraftedFile.delta + filler(100)
        case .logical:
            return Array("Report\n".utf8) + filler(500) + CraftedFile.sub0 + filler(700) + CraftedFile.sub2
                + filler(50) + Array("\n".utf8)
        case .logicalPartial:
            return Array("Report\n".utf8) + filler(500) + CraftedFile.sub0 + filler(750) + Array("\n".utf8)
        case .hashed:
            return (0..<4096).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        }
    }
}

/// A small, fast, deterministic pseudo-random generator (SplitMix64) for fixtures.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
