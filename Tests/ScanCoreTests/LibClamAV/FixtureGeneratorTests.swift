import ScanCore
import ScanCoreTestSupport
import Testing

/// The generators the benchmarks rely on, checked against the real libclamav: every synthetic
/// signature must load, none may match the corpus, and the corpus's EICAR files must be found.
@Suite("Fixture generators")
struct FixtureGeneratorTests {
    static let mix = SyntheticDatabase.Mix(
        md5: 3000, sha256: 1000, peSectionMD5: 1000, peSectionSHA256: 500, body: 800, logical: 150)

    @Test func syntheticDatabaseLoadsCompletely() throws {
        let tree = try TemporaryTree(prefix: "vsgen")
        let written = try SyntheticDatabase.write(Self.mix, to: tree.path("db"), seed: 7)
        #expect(written == 6455)
        let inventory = try SignatureDatabaseInventory.read(directory: tree.path("db"))
        #expect(
            inventory.plainDatabases.map { "\($0.fileName):\($0.signatureCount)" } == [
                "synthetic.hdb:3000", "synthetic.hsb:1000", "synthetic.ldb:150", "synthetic.mdb:1000",
                "synthetic.msb:500", "synthetic.ndb:800", "test.hdb:2", "test.ldb:1", "test.ndb:2",
            ])
        let engine = try ClamAVEngine(databaseDirectory: tree.path("db"))
        #expect(engine.signatureCount == 6455)
        let samples = try SignatureFixtures.writeSamples(to: tree.path("samples"))
        for sample in samples {
            #expect(
                engine.scan(path: sample.path) == (sample.signature.map { .infected(signature: $0) } ?? .clean),
                "\(sample.path)")
        }
    }

    @Test func syntheticDatabaseIsDeterministic() throws {
        let tree = try TemporaryTree(prefix: "vsgen")
        let small = SyntheticDatabase.Mix(md5: 200, sha256: 100, peSectionMD5: 100, peSectionSHA256: 50, body: 80, logical: 20)
        try SyntheticDatabase.write(small, to: tree.path("a"), seed: 3)
        try SyntheticDatabase.write(small, to: tree.path("b"), seed: 3)
        try SyntheticDatabase.write(small, to: tree.path("c"), seed: 4)
        for ext in ["hdb", "hsb", "mdb", "msb", "ndb", "ldb"] {
            let a = try FileOutput.read(tree.path("a/synthetic.\(ext)"))
            #expect(a == (try FileOutput.read(tree.path("b/synthetic.\(ext)"))), "\(ext)")
            #expect(a != (try FileOutput.read(tree.path("c/synthetic.\(ext)"))), "\(ext)")
        }
    }

    @Test func mixesHaveTheAdvertisedSizes() {
        #expect(SyntheticDatabase.mix(.small).total == 0)
        #expect(SyntheticDatabase.mix(.medium).total == 522_000)
        #expect(SyntheticDatabase.mix(.medium).body == 20_000)
        #expect(SyntheticDatabase.mix(.medium).logical == 2_000)
        #expect(SyntheticDatabase.mix(.large).total == 4_108_000)
        #expect(SyntheticDatabase.mix(.full).total == 8_626_000)
    }

    @Test func corpusIsUploadLikeAndOnlyEicarIsInfected() throws {
        let tree = try TemporaryTree(prefix: "vsgen")
        let summary = try Corpus.write(files: 60, to: tree.path("corpus"), seed: 11)
        #expect(summary.files.count == 60)
        #expect(summary.infected == [tree.path("corpus/upload-0000/file-000050.com")])
        let extensions = Set(summary.files.map { $0.split(separator: ".").last.map(String.init) ?? "" })
        #expect(extensions.isSuperset(of: ["pdf", "docx", "xlsx", "png", "jpg", "txt"]))
        for path in summary.files where !summary.infected.contains(path) {
            let size = try FileOutput.read(path).count
            #expect(size >= 10_000 && size <= 5_300_000, "\(path): \(size) bytes")
        }
        // Same seed, same bytes.
        let again = try Corpus.write(files: 3, to: tree.path("again"), seed: 11)
        for (a, b) in zip(summary.files.prefix(3), again.files) {
            #expect(try FileOutput.read(a) == FileOutput.read(b))
        }
        try SignatureFixtures.writeSmall(to: tree.path("db"))
        let engine = try ClamAVEngine(databaseDirectory: tree.path("db"))
        var infected: [String] = []
        for path in summary.files {
            switch engine.scan(path: path) {
            case .clean: break
            case .infected(let signature):
                #expect(signature == SignatureFixtures.reportedEicar)
                infected.append(path)
            case .error(let message): Issue.record("\(path): \(message)")
            }
        }
        #expect(infected == summary.infected)
    }

    @Test func eicarInsideZipAndDocxIsFound() throws {
        let tree = try TemporaryTree(prefix: "vsgen")
        try SignatureFixtures.writeSmall(to: tree.path("db"))
        let engine = try ClamAVEngine(databaseDirectory: tree.path("db"))
        // Every 100th file from the 50th holds EICAR: alone, in a zip, in a docx, in turn.
        var names: [String] = []
        for index in [50, 150, 250] {
            let file = Corpus.generate(index: index, seed: 5)
            #expect(file.infected)
            let path = tree.path(file.name)
            try FileOutput.write(file.bytes, to: path)
            names.append(file.name)
            #expect(engine.scan(path: path) == .infected(signature: SignatureFixtures.reportedEicar), "\(path)")
        }
        #expect(names == ["file-000050.com", "file-000150.zip", "file-000250.docx"])
        #expect(!Corpus.generate(index: 51, seed: 5).infected)
    }

    @Test func eicarIsTheTestString() {
        let bytes = EICAR.bytes
        #expect(bytes.count == 68)
        #expect(Checksums.md5Hex(bytes) == "44d88612fea8a8f36de82e1278abb02f")
        #expect(SHA256.hex(bytes) == "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f")
    }

    @Test func checksumsMatchKnownVectors() {
        #expect(Checksums.md5Hex([]) == "d41d8cd98f00b204e9800998ecf8427e")
        #expect(Checksums.md5Hex(Array("The quick brown fox jumps over the lazy dog".utf8)) == "9e107d9d372bb6826bd81d3542a419d6")
        #expect(SHA256.hex([]) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(SHA256.hex(Array("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(Checksums.crc32(Array("123456789".utf8)) == 0xCBF4_3926)
        let long = [UInt8](repeating: 0x61, count: 1_000_000)
        #expect(SHA256.hex(long) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
        #expect(Checksums.md5Hex(long) == "7707d6ae4e027c70eea2a935c2296f21")
    }
}
