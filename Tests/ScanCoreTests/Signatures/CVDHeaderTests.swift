import ScanCore
import ScanCoreTestSupport
import Testing

@Suite("CVDHeader")
struct CVDHeaderTests {
    /// A header as freshclam's daily.cvd carries it (fields of a real 2021 daily, padded).
    static let realLine =
        "ClamAV-VDB:16 Sep 2021 08-32 -0400:26296:4051850:90:1bd2b7bb8be4ef1e3e8e9fbad6b4fdd7:"
        + "ZMmQN09egiRh5Dyw5RE8LVW3eU5Pu1FZwyQjLRdcqbfPyaMpGWiBdGsn4k4MpjUuIEu5aEA6QXTmjmfAMNfVTrC0eSpgm3LT"
        + "ioHSpnq9UevlBgX27O6PuLsfFNEXMmJVexpYF3Ld0hqvQ4GMdNo8lKkf3fR3O9m6aXHYm8W8cRA:raynman:1631795520"

    static func padded(_ line: String) -> [UInt8] {
        Array(line.utf8) + [UInt8](repeating: 0x20, count: 512 - line.utf8.count)
    }

    @Test func parsesEveryField() throws {
        let header = try CVDHeader(parsing: Self.padded(Self.realLine))
        #expect(header.buildTime == "16 Sep 2021 08-32 -0400")
        #expect(header.version == 26296)
        #expect(header.signatureCount == 4_051_850)
        #expect(header.functionalityLevel == 90)
        #expect(header.md5 == "1bd2b7bb8be4ef1e3e8e9fbad6b4fdd7")
        #expect(header.digitalSignature.hasPrefix("ZMmQN09egiRh5Dyw5RE8"))
        #expect(header.digitalSignature.count == 171)
        #expect(header.builder == "raynman")
        #expect(header.buildTimestamp == 1_631_795_520)
        #expect(header.line == Self.realLine)
        #expect(header.rendered() == Self.padded(Self.realLine))
    }

    @Test func readsOnlyTheFirst512BytesOfAWholeFile() throws {
        let file = Self.padded(Self.realLine) + Array(repeating: 0x1F, count: 4096)
        #expect(try CVDHeader(parsing: file).version == 26296)
    }

    @Test func oldFormatWithoutBuildSeconds() throws {
        let line = "ClamAV-VDB:07 Feb 2008 12-43 +0100:5000:100:25:0123456789abcdef0123456789abcdef:sig:acab"
        let header = try CVDHeader(parsing: Self.padded(line))
        #expect(header.builder == "acab")
        #expect(header.buildTimestamp == nil)
    }

    @Test func stopsAtNewlineOrNUL() throws {
        var block = Self.padded(Self.realLine)
        block[Self.realLine.utf8.count] = 0x0A
        block[Self.realLine.utf8.count + 1] = UInt8(ascii: "x")
        #expect(try CVDHeader(parsing: block).buildTimestamp == 1_631_795_520)
    }

    @Test func truncatedHeader() {
        let short = Array(Self.realLine.utf8.prefix(200))
        let error = #expect(throws: SignatureDatabaseError.self) { try CVDHeader(parsing: short) }
        #expect(error?.code == .truncatedHeader)
        #expect(
            error?.message
                == "truncated header: 200 bytes where a ClamAV database starts with a 512-byte header")
    }

    @Test func emptyFileIsTruncated() {
        let error = #expect(throws: SignatureDatabaseError.self) { try CVDHeader(parsing: [UInt8]()) }
        #expect(error?.code == .truncatedHeader)
        #expect(error?.message == "truncated header: 0 bytes where a ClamAV database starts with a 512-byte header")
    }

    @Test func garbageIsNotAHeader() {
        let garbage = [UInt8](repeating: 0x7F, count: 600)
        let error = #expect(throws: SignatureDatabaseError.self) { try CVDHeader(parsing: garbage) }
        #expect(error?.code == .notAHeader)
        #expect(error?.message == "not a ClamAV database: the header does not start with \"ClamAV-VDB:\"")
        let shortGarbage = Array("PK\u{03}\u{04}".utf8)
        let short = #expect(throws: SignatureDatabaseError.self) { try CVDHeader(parsing: shortGarbage) }
        #expect(short?.code == .notAHeader)
        #expect(short?.message == "not a ClamAV database: the file does not start with \"ClamAV-VDB:\"")
    }

    @Test(arguments: [
        ("ClamAV-VDB:16 Sep 2021 08-32 -0400:26296:4051850", "malformed header: 3 fields where 8 or 9 are expected (missing the functionality level)"),
        ("ClamAV-VDB:t:1:2:3:m:d:b:4:extra", "malformed header: 9 fields where 8 or 9 are expected"),
        ("ClamAV-VDB:t:x26296:2:3:m:d:b:4", "malformed header: the version field is not a number: \"x26296\""),
        ("ClamAV-VDB:t:1:-2:3:m:d:b:4", "malformed header: the signature count field is not a number: \"-2\""),
        ("ClamAV-VDB:t:1:2:90a:m:d:b:4", "malformed header: the functionality level field is not a number: \"90a\""),
        ("ClamAV-VDB:t:1:2:3:m:d:b:16317955200000000000", "malformed header: the build time (s) field is not a number: \"16317955200000000000\""),
        ("ClamAV-VDB:t:1:2:3::d:b:4", "malformed header: the MD5 field is empty"),
        ("ClamAV-VDB::1:2:3:m:d:b:4", "malformed header: the build time field is empty"),
    ])
    func malformedHeaders(line: String, message: String) {
        let error = #expect(throws: SignatureDatabaseError.self) { try CVDHeader(parsing: Self.padded(line)) }
        #expect(error?.code == .malformedHeader)
        #expect(error?.message == message)
    }

    @Test func containerWriterRoundTrip() throws {
        let files: [(name: String, contents: [UInt8])] = [
            ("daily.hdb", Array("0123456789abcdef0123456789abcdef:10:A\n# comment\n\nfedcba9876543210fedcba9876543210:11:B\n".utf8)),
            ("daily.ndb", Array("C:0:*:41424344\n".utf8)),
        ]
        let bytes = DatabaseContainer.build(name: "daily", files: files, kind: .cvd, version: 27_800)
        let header = try CVDHeader(parsing: bytes)
        #expect(header.version == 27_800)
        #expect(header.signatureCount == 3)
        #expect(header.functionalityLevel == 90)
        #expect(header.buildTime == "25 Nov 2025 12-00 +0000")
        #expect(header.buildTimestamp == 1_764_072_000)
        #expect(header.builder == "vsm-fixtures")
        #expect(header.md5 == Checksums.md5Hex(Array(bytes[512...])))
        #expect(header.digitalSignature == DatabaseContainer.fakeSignature(version: 27_800))
    }
}
