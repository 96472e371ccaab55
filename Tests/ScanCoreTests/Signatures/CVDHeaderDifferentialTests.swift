import CClamAV
import Glibc
import ScanCore
import ScanCoreTestSupport
import Testing

/// Compares the pure-Swift ``CVDHeader`` with libclamav's own `cl_cvdhead`/`cl_cvdparse` on
/// container files built by the fixture generator, on hand-written headers, and on any real
/// database on this machine (/var/lib/clamav).
@Suite("CVDHeader against cl_cvdparse")
struct CVDHeaderDifferentialTests {
    struct Fields: Equatable, CustomStringConvertible {
        var time: String, version: Int, sigs: Int, fl: Int, md5: String, dsig: String, builder: String, stime: Int64

        init(_ cvd: cl_cvd) {
            time = String(cString: cvd.time)
            version = Int(cvd.version)
            sigs = Int(cvd.sigs)
            fl = Int(cvd.fl)
            md5 = String(cString: cvd.md5)
            dsig = String(cString: cvd.dsig)
            builder = String(cString: cvd.builder)
            stime = Int64(cvd.stime)
        }

        init(_ header: CVDHeader) {
            time = header.buildTime
            version = header.version
            sigs = header.signatureCount
            fl = header.functionalityLevel
            md5 = header.md5
            dsig = header.digitalSignature
            builder = header.builder
            stime = header.buildTimestamp ?? 0
        }

        var description: String { "\(time)|\(version)|\(sigs)|\(fl)|\(md5)|\(dsig)|\(builder)|\(stime)" }
    }

    /// libclamav's reading of the header of the file at `path` (`cl_cvdhead`).
    static func libclamav(path: String) -> Fields? {
        guard let cvd = cl_cvdhead(path) else { return nil }
        defer { cl_cvdfree(cvd) }
        return Fields(cvd.pointee)
    }

    /// libclamav's reading of a header line (`cl_cvdparse`).
    static func libclamav(line: String) -> Fields? {
        guard let cvd = cl_cvdparse(line) else { return nil }
        defer { cl_cvdfree(cvd) }
        return Fields(cvd.pointee)
    }

    static let containers: [(name: String, kind: DatabaseContainer.Kind, version: Int, time: Int64)] = [
        ("daily", .cvd, 27_812, 1_764_072_000), ("daily", .cld, 27_813, 1_764_075_600), ("main", .cvd, 62, 1_631_100_000),
        ("main", .cud, 63, 1_600_000_000), ("bytecode", .cvd, 336, 1_700_000_000), ("daily", .cud, 1, 0),
    ]

    @Test func generatedContainersAgree() throws {
        let tree = try TemporaryTree(prefix: "vsdiff")
        try SignatureFixtures.writeSmall(to: tree.path("db"))
        for spec in Self.containers {
            let path = tree.path("\(spec.name)-\(spec.version).\(spec.kind.rawValue)")
            try DatabaseContainer.write(
                from: tree.path("db"), to: path, version: spec.version, buildTimestamp: spec.time)
            let ours = try CVDHeader(parsing: FileOutput.read(path))
            let theirs = try #require(Self.libclamav(path: path))
            #expect(Fields(ours) == theirs, "\(path)")
            #expect(ours.version == spec.version)
            #expect(ours.buildTimestamp == spec.time)
            #expect(ours.signatureCount == 5)
        }
    }

    @Test(arguments: [
        CVDHeaderTests.realLine,
        "ClamAV-VDB:07 Feb 2008 12-43 +0100:5000:100:25:0123456789abcdef0123456789abcdef:sig:acab",
        "ClamAV-VDB:01 Jan 1970 00-00 +0000:0:0:0:m:d:b:0",
        "ClamAV-VDB:x:4294967295:2147483647:255:m:d:b:2147483647",
    ])
    func wellFormedLinesAgree(line: String) throws {
        let ours = try CVDHeader(line: line)
        let theirs = try #require(Self.libclamav(line: line))
        #expect(Fields(ours).time == theirs.time)
        #expect(Fields(ours).md5 == theirs.md5)
        #expect(Fields(ours).dsig == theirs.dsig)
        #expect(Fields(ours).builder == theirs.builder)
        #expect(Int32(truncatingIfNeeded: ours.signatureCount) == Int32(truncatingIfNeeded: theirs.sigs))
        #expect(Int64(ours.buildTimestamp ?? 0) == theirs.stime)
        // cl_cvd.version is unsigned int: compare modulo 2^32.
        #expect(UInt32(truncatingIfNeeded: ours.version) == UInt32(truncatingIfNeeded: theirs.version))
    }

    @Test(arguments: [
        "ClamAV-VDX:t:1:2:3:m:d:b:4",
        "clamav-vdb:t:1:2:3:m:d:b:4",
        "ClamAV-VDB:t:1:2:3:m:d",
        "ClamAV-VDB:",
        "",
    ])
    func bothRejectWhatLibclamavRejects(line: String) {
        #expect(Self.libclamav(line: line) == nil)
        #expect(throws: SignatureDatabaseError.self) { try CVDHeader(line: line) }
    }

    /// Where cl_cvdparse guesses (atoi on garbage, empty fields skipped so later fields shift),
    /// the Swift parser refuses instead of returning shifted fields.
    @Test(arguments: [
        "ClamAV-VDB:t:abc:2:3:m:d:b:4",
        "ClamAV-VDB:t:1::2:3:m:d:b",
    ])
    func swiftRefusesWhereLibclamavGuesses(line: String) {
        #expect(Self.libclamav(line: line) != nil)
        #expect(throws: SignatureDatabaseError.self) { try CVDHeader(line: line) }
    }

    @Test func realDatabasesOnThisMachine() throws {
        var checked = 0
        for directory in ["/var/lib/clamav", "/usr/share/clamav"] {
            guard let names = try? FileOutput.list(directory) else { continue }
            for name in names.sorted() where name.hasSuffix(".cvd") || name.hasSuffix(".cld") {
                let path = directory + "/" + name
                guard let theirs = Self.libclamav(path: path) else { continue }
                let ours = try CVDHeader(parsing: FileOutput.read(path).prefix(512))
                #expect(Fields(ours) == theirs, "\(path)")
                checked += 1
            }
        }
        // No network here: usually there is no real database. Nothing to compare is not a failure.
        if checked == 0 { print("CVDHeader differential: no real .cvd/.cld on this machine") }
    }
}
