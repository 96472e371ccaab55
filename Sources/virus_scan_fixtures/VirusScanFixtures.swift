import ArgumentParser
import ScanCoreTestSupport

/// Generates what the tests and benchmarks scan and load: signature databases (small, medium,
/// large, full), database containers (.cvd/.cld/.cud), an upload-like corpus, the EICAR file.
/// Everything is deterministic for a seed and nothing it writes is meant to be committed.
@main
struct VirusScanFixtures: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "virus_scan_fixtures",
        abstract: "Generate signature databases, database containers, corpora and the EICAR file for tests and benchmarks.",
        subcommands: [Database.self, Container.self, CorpusCommand.self, Eicar.self, Samples.self])
}

extension VirusScanFixtures {
    struct Database: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a signature database directory.",
            discussion: """
                small: EICAR (also inside archives) and the crafted test files, 5 signatures.
                medium: ~522k signatures; large: ~4.1M; full: ~8.6M (the official database's size).
                The synthetic sizes mix MD5/SHA-256 hashes (.hdb/.hsb), PE section hashes (.mdb/.msb),
                body signatures with wildcards (.ndb) and logical signatures (.ldb), plus the small set.
                """)

        @Argument(help: "small, medium, large or full.")
        var size: String

        @Argument(help: "The directory to write (created if needed).")
        var directory: String

        @Option(help: "Seed for the random signatures.")
        var seed: UInt64 = 1

        func validate() throws {
            guard SyntheticDatabase.Size(rawValue: size) != nil else {
                throw ValidationError("size must be small, medium, large or full, not '\(size)'")
            }
        }

        func run() throws {
            let size = SyntheticDatabase.Size(rawValue: size)!
            let count = try SyntheticDatabase.write(size, to: directory, seed: seed)
            print("\(directory): \(count) signatures (\(size.rawValue))")
        }
    }

    struct Container: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "cvd",
            abstract: "Pack a database directory into a .cvd, .cld or .cud container.",
            discussion: """
                The header carries the MD5 of the body and a fake digital signature. libclamav 1.4
                refuses to load such a .cvd (signature) or .cld (unsigned .info); it loads a .cud.
                All three parse with cl_cvdparse.
                """)

        @Option(help: "The database directory to pack.")
        var from: String

        @Option(help: "The container to write: NAME.cvd, NAME.cld or NAME.cud (NAME: daily, main, …).")
        var out: String

        @Option(help: "The database version in the header.")
        var version: Int

        @Option(help: "The build time in the header, epoch seconds.")
        var buildTime: Int64 = DatabaseContainer.defaultTimestamp

        func run() throws {
            try DatabaseContainer.write(from: from, to: out, version: version, buildTimestamp: buildTime)
            print("\(out): version \(version)")
        }
    }

    struct CorpusCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "corpus",
            abstract: "Write an upload-like corpus: PDFs, docx/xlsx, images, text; 10 KB–5 MB; 1% EICAR.")

        @Option(help: "How many files.")
        var files: Int = 2000

        @Option(help: "Seed.")
        var seed: UInt64 = 1

        @Argument(help: "The directory to write (created if needed).")
        var directory: String

        func run() throws {
            let summary = try Corpus.write(files: files, to: directory, seed: seed)
            print(
                "\(directory): \(summary.files.count) files, \(summary.bytes) bytes, \(summary.infected.count) with EICAR")
        }
    }

    struct Eicar: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Write the EICAR test file.")

        @Argument(help: "The file to write.")
        var file: String

        func run() throws {
            try FileOutput.write(EICAR.bytes, to: file)
        }
    }

    struct Samples: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write one sample of each kind the small database is tested with, and print the expected verdicts.")

        @Argument(help: "The directory to write (created if needed).")
        var directory: String

        func run() throws {
            for sample in try SignatureFixtures.writeSamples(to: directory) {
                print("\(sample.path): \(sample.signature.map { "\($0) FOUND" } ?? "OK")")
            }
        }
    }
}
