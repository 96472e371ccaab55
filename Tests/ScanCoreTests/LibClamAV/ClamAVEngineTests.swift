import CClamAV
import Glibc
import ScanCore
import ScanCoreTestSupport
import Testing

/// The libclamav engine, for real: the small fixture database loaded into libclamav, real files
/// scanned.
@Suite("ClamAVEngine")
struct ClamAVEngineTests {
    /// The small database and the sample files, in a fresh temp dir.
    static func fixture() throws -> (tree: TemporaryTree, samples: [(path: String, signature: String?)]) {
        let tree = try TemporaryTree(prefix: "vseng")
        try SignatureFixtures.writeSmall(to: tree.path("db"))
        let samples = try SignatureFixtures.writeSamples(to: tree.path("samples"))
        return (tree, samples)
    }

    static func expected(_ signature: String?) -> ScanVerdict {
        signature.map { .infected(signature: $0) } ?? .clean
    }

    @Test func loadsTheSmallDatabase() throws {
        let (tree, _) = try Self.fixture()
        let engine = try ClamAVEngine(databaseDirectory: tree.path("db"))
        #expect(engine.signatureCount == 5)
        #expect(engine.databasePath == tree.path("db"))
        #expect(engine.loadDuration > .zero)
        #expect(engine.loadDuration < .seconds(10))
        #expect(engine.loadWarnings == [])
        #expect(engine.loadedVersions == .init())
        #expect(engine.limits == .default)
    }

    @Test func verdictsForEverySample() throws {
        let (tree, samples) = try Self.fixture()
        let engine = try ClamAVEngine(databaseDirectory: tree.path("db"))
        #expect(samples.count == 8)
        for sample in samples {
            #expect(engine.scan(path: sample.path) == Self.expected(sample.signature), "\(sample.path)")
        }
        #expect(engine.scan(path: tree.path("samples/eicar.com")) == .infected(signature: "Eicar-Test-Signature.UNOFFICIAL"))
        #expect(engine.scan(path: tree.path("samples/eicar.zip")) == .infected(signature: "Eicar-Test-Signature.UNOFFICIAL"))
        #expect(engine.scan(path: tree.path("samples/logical.txt")) == .infected(signature: "VirusScan.Test.Logical-1.UNOFFICIAL"))
        #expect(engine.scan(path: tree.path("samples/body-wildcard.bin")) == .infected(signature: "VirusScan.Test.Body-1.UNOFFICIAL"))
        #expect(engine.scan(path: tree.path("samples/hashed.bin")) == .infected(signature: "VirusScan.Test.Hash-1.UNOFFICIAL"))
        #expect(engine.scan(path: tree.path("samples/clean.txt")) == .clean)
    }

    @Test func scansAnOpenDescriptor() throws {
        let (tree, _) = try Self.fixture()
        let engine = try ClamAVEngine(databaseDirectory: tree.path("db"))
        let fd = open(tree.path("samples/eicar.zip"), O_RDONLY)
        try #require(fd >= 0)
        defer { close(fd) }
        #expect(engine.scan(fileDescriptor: fd) == .infected(signature: SignatureFixtures.reportedEicar))
        #expect(engine.scan(fileDescriptor: fd, name: "upload-17.zip") == .infected(signature: SignatureFixtures.reportedEicar))
    }

    @Test func missingFileIsAnErrorVerdict() throws {
        let (tree, _) = try Self.fixture()
        let engine = try ClamAVEngine(databaseDirectory: tree.path("db"))
        let path = tree.path("samples/gone.pdf")
        #expect(engine.scan(path: path) == .error(message: "cannot open \(path): No such file or directory (errno 2)"))
    }

    @Test func badHashLineIsReportedWithLibclamavsMessage() throws {
        let tree = try TemporaryTree(prefix: "vseng")
        let db = tree.path("db")
        try SignatureFixtures.writeSmall(to: db)
        try FileOutput.write("44d88612fea8a8f36de82e1278abb02f:68:Good-1\nnot-a-hash:12:Bad-1\n", to: db + "/broken.hdb")
        let error = #expect(throws: ClamAVError.self) { try ClamAVEngine(databaseDirectory: db) }
        #expect(error?.code == .malformedDatabase)
        #expect(error?.libclamavError == "Invalid argument passed to function")
        let messages = [
            "hm_addhash_str: invalid hash not-a-hash -- FIXME!",
            "cli_loadhash: Malformed hash string at line 2",
            "cli_loadhash: Problem parsing database at line 2",
            "Can't load \(db)/broken.hdb: Invalid argument passed to function",
            "cli_loaddbdir: error loading database \(db)/broken.hdb",
        ]
        #expect(error?.libclamavMessages == messages)
        #expect(
            error?.message
                == "cannot load signature database \(db): Invalid argument passed to function (libclamav: "
                + messages.joined(separator: "; ") + ")")
    }

    @Test func badBodySignatureIsReportedWithLibclamavsMessage() throws {
        let tree = try TemporaryTree(prefix: "vseng")
        let db = tree.path("db")
        try SignatureFixtures.writeSmall(to: db)
        try FileOutput.write("Good-1:0:*:41424344\nBad-1:0:*:4G4142\n", to: db + "/broken.ndb")
        let error = #expect(throws: ClamAVError.self) { try ClamAVEngine(databaseDirectory: db) }
        #expect(error?.code == .malformedDatabase)
        #expect(error?.libclamavError == "Malformed database")
        #expect(
            error?.message
                == "cannot load signature database \(db): Malformed database (libclamav: Problem parsing database at line 2; "
                + "Can't load \(db)/broken.ndb: Malformed database; cli_loaddbdir: error loading database \(db)/broken.ndb)")
    }

    @Test func corruptContainerIsReportedWithLibclamavsMessage() throws {
        let tree = try TemporaryTree(prefix: "vseng")
        try SignatureFixtures.writeSmall(to: tree.path("src"))
        try tree.directory("db")
        var bytes = DatabaseContainer.build(
            name: "daily", files: SignatureFixtures.smallDatabaseFiles().map { ($0.name, Array($0.contents.utf8)) },
            kind: .cud, version: 27_900)
        bytes.removeLast(bytes.count - 700)  // cut the body short
        try FileOutput.write(bytes, to: tree.path("db/daily.cud"))
        let error = #expect(throws: ClamAVError.self) { try ClamAVEngine(databaseDirectory: tree.path("db")) }
        #expect(error?.code == .malformedDatabase)
        let db = tree.path("db")
        #expect(
            error?.libclamavMessages == [
                "cli_tgzload: Incomplete block read", "Can't load \(db)/daily.cud: Malformed database",
                "cli_loaddbdir: error loading database \(db)/daily.cud",
            ])
        #expect(
            error?.message
                == "cannot load signature database \(db): Malformed database (libclamav: cli_tgzload: Incomplete block read; "
                + "Can't load \(db)/daily.cud: Malformed database; cli_loaddbdir: error loading database \(db)/daily.cud)")
    }

    @Test func missingDirectory() throws {
        let tree = try TemporaryTree(prefix: "vseng")
        let path = tree.path("nothing-here")
        let error = #expect(throws: ClamAVError.self) { try ClamAVEngine(databaseDirectory: path) }
        #expect(error?.code == .databaseNotFound)
        #expect(error?.libclamavError == "Can't get file status")
        #expect(
            error?.message
                == "cannot load signature database \(path): Can't get file status (libclamav: cl_load(): No such file or directory: \(path))")
    }

    @Test func directoryWithoutDatabases() throws {
        let tree = try TemporaryTree(prefix: "vseng")
        try FileOutput.write("not a database\n", to: tree.path("README"))
        let error = #expect(throws: ClamAVError.self) { try ClamAVEngine(databaseDirectory: tree.root) }
        #expect(error?.code == .databaseNotFound)
        #expect(
            error?.message
                == "cannot load signature database \(tree.root): Can't open file or directory (libclamav: cli_loaddbdir: No supported database files found in \(tree.root))")
    }

    @Test func unsignedContainerLoadsAndRecordsTheDailyVersion() throws {
        let tree = try TemporaryTree(prefix: "vseng")
        try SignatureFixtures.writeSmall(to: tree.path("src"))
        try tree.directory("db")
        try DatabaseContainer.write(
            from: tree.path("src"), to: tree.path("db/daily.cud"), version: 27_901, buildTimestamp: 1_764_072_000)
        let engine = try ClamAVEngine(databaseDirectory: tree.path("db"))
        #expect(engine.signatureCount == 5)
        #expect(engine.loadedVersions == .init(daily: 27_901, dailyBuildTimestamp: 1_764_072_000))
        // The fixture's build time is a year old: libclamav warns, and the load still succeeds.
        #expect(
            engine.loadWarnings == [
                "**************************************************",
                "***  The virus database is older than 7 days!  ***",
                "***   Please update it as soon as possible.    ***",
                "**************************************************",
            ])
        #expect(engine.scan(path: try Self.writeEicar(tree)) == .infected(signature: "Eicar-Test-Signature.UNOFFICIAL"))
    }

    @Test func loadedVersionsNameMainAndDaily() throws {
        let tree = try TemporaryTree(prefix: "vseng")
        try SignatureFixtures.writeSmall(to: tree.path("src"))
        try tree.directory("db")
        let now = Int64(time(nil))
        try DatabaseContainer.write(from: tree.path("src"), to: tree.path("db/main.cud"), version: 62, buildTimestamp: now - 86400)
        try DatabaseContainer.write(from: tree.path("src"), to: tree.path("db/daily.cud"), version: 27_950, buildTimestamp: now)
        let engine = try ClamAVEngine(databaseDirectory: tree.path("db"))
        #expect(engine.signatureCount == 10)
        #expect(engine.loadWarnings == [])
        #expect(engine.loadedVersions == .init(main: 62, daily: 27_950, dailyBuildTimestamp: now))
    }

    @Test func unsignedCVDIsRejected() throws {
        let tree = try TemporaryTree(prefix: "vseng")
        try SignatureFixtures.writeSmall(to: tree.path("src"))
        try tree.directory("db")
        try DatabaseContainer.write(from: tree.path("src"), to: tree.path("db/daily.cvd"), version: 27_902)
        let error = #expect(throws: ClamAVError.self) { try ClamAVEngine(databaseDirectory: tree.path("db")) }
        #expect(error?.code == .malformedDatabase)
        #expect(error?.libclamavError == "Can't verify database integrity")
        let db = tree.path("db")
        #expect(
            error?.libclamavMessages == [
                "cli_decodesig: Resulting signature too large (128 vs 16).",
                "Can't load \(db)/daily.cvd: Can't verify database integrity",
                "cli_loaddbdir: error loading database \(db)/daily.cvd",
            ])
    }

    @Test func cldWithUnsignedInfoIsRejected() throws {
        let tree = try TemporaryTree(prefix: "vseng")
        try SignatureFixtures.writeSmall(to: tree.path("src"))
        try tree.directory("db")
        try DatabaseContainer.write(from: tree.path("src"), to: tree.path("db/daily.cld"), version: 27_903)
        let error = #expect(throws: ClamAVError.self) { try ClamAVEngine(databaseDirectory: tree.path("db")) }
        #expect(error?.code == .malformedDatabase)
        let db = tree.path("db")
        #expect(error?.libclamavError == "Malformed database")
        #expect(
            error?.libclamavMessages == [
                "cli_loadinfo: Digital signature not found", "Can't load daily.info: Malformed database",
                "cli_tgzload: Can't load daily.info", "Can't load \(db)/daily.cld: Malformed database",
                "cli_loaddbdir: error loading database \(db)/daily.cld",
            ])
    }

    static func writeEicar(_ tree: TemporaryTree) throws -> String {
        let path = tree.path("eicar.com")
        try FileOutput.write(EICAR.bytes, to: path)
        return path
    }

    @Test func fileOverTheSizeLimitIsAnError() throws {
        let (tree, _) = try Self.fixture()
        let engine = try ClamAVEngine(databaseDirectory: tree.path("db"), limits: ScanLimits(maxFileSize: 1000))
        #expect(engine.limits.maxFileSize == 1000)
        let big = tree.path("big.txt")
        try FileOutput.write([UInt8](repeating: UInt8(ascii: "a"), count: 5000), to: big)
        #expect(engine.scan(path: big) == .error(message: "size limit exceeded (Heuristics.Limits.Exceeded.MaxFileSize)"))
        // A file under the limit still scans.
        #expect(engine.scan(path: tree.path("samples/eicar.com")) == .infected(signature: SignatureFixtures.reportedEicar))
        #expect(engine.scan(path: tree.path("samples/clean.txt")) == .clean)
    }

    @Test func archiveOverTheRecursionLimitIsAnError() throws {
        let (tree, _) = try Self.fixture()
        let engine = try ClamAVEngine(databaseDirectory: tree.path("db"), limits: ScanLimits(maxRecursion: 2))
        var inner = ZipArchive()
        inner.add("notes.txt", Array("nothing here\n".utf8))
        var level = inner.bytes
        for depth in 0..<4 {
            var zip = ZipArchive()
            zip.add("level\(depth).zip", level)
            level = zip.bytes
        }
        let path = tree.path("deep.zip")
        try FileOutput.write(level, to: path)
        #expect(engine.scan(path: path) == .error(message: "size limit exceeded (Heuristics.Limits.Exceeded.MaxRecursion)"))
    }

    @Test func archiveWithTooManyFilesIsAnError() throws {
        let (tree, _) = try Self.fixture()
        let engine = try ClamAVEngine(databaseDirectory: tree.path("db"), limits: ScanLimits(maxFiles: 3))
        var zip = ZipArchive()
        for index in 0..<10 { zip.add("file\(index).txt", Array("file \(index) is clean\n".utf8)) }
        let path = tree.path("many.zip")
        try FileOutput.write(zip.bytes, to: path)
        #expect(engine.scan(path: path) == .error(message: "size limit exceeded (Heuristics.Limits.Exceeded.MaxFiles)"))
    }

    @Test func infectedBeatsTheLimitHeuristic() throws {
        let (tree, _) = try Self.fixture()
        let engine = try ClamAVEngine(databaseDirectory: tree.path("db"), limits: ScanLimits(maxFiles: 2))
        var zip = ZipArchive()
        zip.add("eicar.com", EICAR.bytes)
        for index in 0..<5 { zip.add("file\(index).txt", Array("file \(index)\n".utf8)) }
        let path = tree.path("eicar-many.zip")
        try FileOutput.write(zip.bytes, to: path)
        #expect(engine.scan(path: path) == .infected(signature: SignatureFixtures.reportedEicar))
    }

    @Test func severalThreadsShareOneEngine() async throws {
        let (tree, samples) = try Self.fixture()
        let engine = try ClamAVEngine(databaseDirectory: tree.path("db"))
        let cases = samples.map { (path: $0.path, expected: Self.expected($0.signature)) }
        let results = await ConcurrentScans.run(threads: 4, rounds: 25, cases: cases) { engine.scan(path: $0) }
        #expect(results.mismatches == [])
        #expect(results.scans == 400)
    }

    @Test func versionStrings() {
        #expect(ClamAVEngine.libraryVersion == String(cString: cl_retver()))
        #expect(ClamAVEngine.libraryVersion.split(separator: ".").count == 3)
        #expect(ClamAVEngine.functionalityLevel == Int(cl_retflevel()))
        #expect(ClamAVEngine.functionalityLevel >= 200)
    }
}
