import ScanCore
import ScanCoreTestSupport
import Testing

@Suite("SignatureDatabaseInventory")
struct SignatureDatabaseInventoryTests {
    /// A database directory like /var/lib/clamav after freshclam plus local custom databases.
    static func makeDirectory() throws -> TemporaryTree {
        let tree = try TemporaryTree(prefix: "vsinv")
        let hdb = Array("0123456789abcdef0123456789abcdef:10:A-1\nfedcba9876543210fedcba9876543210:11:B-1\n".utf8)
        let ndb = Array("C-1:0:*:41424344\n".utf8)
        func container(_ name: String, _ kind: DatabaseContainer.Kind, _ version: Int, _ time: Int64) throws {
            let bytes = DatabaseContainer.build(
                name: name, files: [("\(name).hdb", hdb), ("\(name).ndb", ndb)], kind: kind, version: version,
                buildTimestamp: time)
            try FileOutput.write(bytes, to: tree.path("\(name).\(kind.rawValue)"))
        }
        try container("main", .cvd, 62, 1_631_100_000)
        try container("daily", .cvd, 27_000, 1_760_000_000)
        try container("daily", .cld, 27_005, 1_764_072_000)
        try container("bytecode", .cvd, 335, 1_700_000_000)
        try FileOutput.write(
            "# local hashes\n\n0123456789abcdef0123456789abcdef:10:Local.Hash-1\n  \n"
                + "fedcba9876543210fedcba9876543210:11:Local.Hash-2\nabcdefabcdefabcdefabcdefabcdefab:12:Local.Hash-3",
            to: tree.path("local.hdb"))
        try FileOutput.write("Local.Body-1:0:*:41424344454647\nLocal.Body-2:0:*:4142??4445\n", to: tree.path("local.ndb"))
        try FileOutput.write(
            "Local.Logic-1;Engine:51-255,Target:0;0&1;41424344;45464748\n", to: tree.path("custom.ldb"))
        try FileOutput.write(
            "# false positives\nWin.Test.EICAR_HDB-1\nPUA.Pdf.Trojan.EmbeddedJavaScript-1:0c5cd4d0a1f54b0cae7c3aa2a18fcb81\n",
            to: tree.path("whitelist.ign2"))
        try FileOutput.write("daily.ldb:12:Old.Format-1\n", to: tree.path("legacy.ign"))
        try FileOutput.write(
            "rule one { condition: true }\nprivate rule two\n{ condition: false }\n// rule not_a_rule\n",
            to: tree.path("rules.yara"))
        try FileOutput.write(Array(repeating: 0x41, count: 600), to: tree.path("garbage.cvd"))
        try FileOutput.write(Array("ClamAV-VDB:25 Nov 2025 12-00 +0000:1:2".utf8), to: tree.path("short.cld"))
        try FileOutput.write("not a database\n", to: tree.path("readme.txt"))
        try FileOutput.write("Hidden-1:0:*:41424344\n", to: tree.path(".hidden.ndb"))
        try tree.directory("subdir.ndb")
        return tree
    }

    @Test func listsEveryDatabase() throws {
        let tree = try Self.makeDirectory()
        let inventory = try SignatureDatabaseInventory.read(directory: tree.root)
        #expect(inventory.containers.map(\.fileName) == ["bytecode.cvd", "daily.cld", "daily.cvd", "main.cvd"])
        #expect(inventory.containers.map(\.header.version) == [335, 27_005, 27_000, 62])
        #expect(inventory.containers.map(\.header.signatureCount) == [3, 3, 3, 3])
        #expect(inventory.containers.map(\.kind) == [.cvd, .cld, .cvd, .cvd])
        #expect(
            inventory.plainDatabases.map { "\($0.fileName)=\($0.format):\($0.signatureCount)" } == [
                "custom.ldb=ldb:1", "legacy.ign=ign:1", "local.hdb=hdb:3", "local.ndb=ndb:2", "rules.yara=yara:2",
                "whitelist.ign2=ign2:2",
            ])
        #expect(inventory.daily?.fileName == "daily.cld")
        #expect(inventory.main?.fileName == "main.cvd")
        #expect(inventory.bytecode?.fileName == "bytecode.cvd")
        #expect(
            inventory.versions
                == .init(main: 62, daily: 27_005, bytecode: 335, dailyBuildTimestamp: 1_764_072_000))
        // main 3 + daily (newest) 3 + bytecode 3 + ldb 1 + hdb 3 + ndb 2 + yara 2; ignore lists excluded.
        #expect(inventory.totalSignatures == 17)
        #expect(
            inventory.ignoredSignatures == [
                .init(fileName: "legacy.ign", entry: .init(signature: "Old.Format-1")),
                .init(fileName: "whitelist.ign2", entry: .init(signature: "Win.Test.EICAR_HDB-1")),
                .init(
                    fileName: "whitelist.ign2",
                    entry: .init(
                        signature: "PUA.Pdf.Trojan.EmbeddedJavaScript-1", md5: "0c5cd4d0a1f54b0cae7c3aa2a18fcb81")),
            ])
        #expect(
            inventory.ignoredSignatureNames
                == ["Old.Format-1", "Win.Test.EICAR_HDB-1", "PUA.Pdf.Trojan.EmbeddedJavaScript-1"])
        #expect(
            inventory.problems.map(\.message) == [
                "\(tree.path("garbage.cvd")): not a ClamAV database: the header does not start with \"ClamAV-VDB:\"",
                "\(tree.path("short.cld")): truncated header: 38 bytes where a ClamAV database starts with a 512-byte header",
            ])
        #expect(inventory.problems.map(\.code) == [.notAHeader, .truncatedHeader])
        #expect(inventory.problems.map(\.path) == [tree.path("garbage.cvd"), tree.path("short.cld")])
    }

    @Test func missingDirectory() throws {
        let tree = try TemporaryTree(prefix: "vsinv")
        let path = tree.path("nope")
        let error = #expect(throws: SignatureDatabaseError.self) { try SignatureDatabaseInventory.read(directory: path) }
        #expect(error?.code == .directoryUnreadable)
        #expect(error?.message == "cannot open database directory \(path): No such file or directory (errno 2)")
    }

    @Test func smallFixtureDatabase() throws {
        let tree = try TemporaryTree(prefix: "vsinv")
        try SignatureFixtures.writeSmall(to: tree.root)
        let inventory = try SignatureDatabaseInventory.read(directory: tree.root)
        #expect(inventory.containers.isEmpty)
        #expect(inventory.plainDatabases.map(\.fileName) == ["test.hdb", "test.ldb", "test.ndb"])
        #expect(inventory.plainDatabases.map(\.signatureCount) == [2, 1, 2])
        #expect(inventory.versions == .init())
        #expect(inventory.totalSignatures == 5)
    }

    @Test(arguments: [
        ("ndb", "# c\nA:0:*:4142\n\n   \n\t# indented comment\nB:0:*:4344\r\nC:0:*:4546", 3),
        ("hdb", "", 0),
        ("hdb", "\n\n", 0),
        ("cbc", "ClamBCafhm...", 1),
        ("cbc", "", 0),
        ("yar", "rule a {condition: true}\nglobal rule b {condition: true}\n  rule c\n{condition: true}\nrules d", 3),
    ])
    func signatureCounting(format: String, text: String, expected: Int) {
        #expect(SignatureLineCounter.count(Array(text.utf8), format: format) == expected)
        // Fed in 1-byte chunks, the count is the same.
        var counter = SignatureLineCounter(rule: SignatureLineCounter.rule(forFormat: format))
        for byte in text.utf8 { counter.feed([byte]) }
        #expect(counter.finish() == expected)
    }
}
