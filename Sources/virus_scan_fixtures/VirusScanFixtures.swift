import ArgumentParser
import Foundation
import ScanCore
import ScanCoreTestSupport

/// Generates what the tests and benchmarks scan and load: signature databases (small, medium,
/// large, full), database containers (.cvd/.cld/.cud), an upload-like corpus, the EICAR file.
/// Everything is deterministic for a seed and nothing it writes is meant to be committed.
@main
struct VirusScanFixtures: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "virus_scan_fixtures",
        abstract: "Generate signature databases, database containers, corpora and the EICAR file for tests and benchmarks.",
        subcommands: [Database.self, Container.self, CorpusCommand.self, Eicar.self, Samples.self, Journal.self])
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

extension VirusScanFixtures {
    struct Journal: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Append drain-like records to a scan journal through its own writer (rotation included).",
            discussion: """
                The records' scan times are spread evenly over --span seconds ending now (the last one now),
                one infected in 100; appended in batches of 1,000, as `drain` appends them from its workers.
                Prints the records written, the seconds it took and the bytes on disk (file and .1).
                """)

        @Argument(help: "The journal file.")
        var path: String

        @Option(help: "How many records.")
        var records: Int = 1_000_000

        @Option(help: "Seconds the records' scan times span.")
        var span: Double = 7 * 86400

        @Option(help: "The pipeline the records name.")
        var pipeline: String = "/mnt/uploads/whitehall"

        @Option(help: "Rotate past this many bytes (0: never).")
        var rotateBytes: Int = ScanJournal.defaultRotateBytes

        func run() throws {
            let journal = ScanJournal(path: path, pipeline: pipeline, rotateBytes: rotateBytes == 0 ? Int.max : rotateBytes)
            let end = WallClock.now()
            let step = records > 1 ? span / Double(records - 1) : 0
            let started = MonotonicClock.now()
            var batch: [JournalRecord] = []
            batch.reserveCapacity(1000)
            for i in 0..<records {
                let scanned = end - Double(records - 1 - i) * step
                let infected = i % 100 == 42
                batch.append(JournalRecord(
                    time: scanned, queue: i % 4 == 0 ? "draft-incoming" : "incoming",
                    path: "system/uploads/attachment_data/file/\(i / 10)/document-\(i).pdf", size: Int64(1000 + i % 400_000),
                    placed: scanned - Double(30 + i % 900), scanned: scanned, verdict: infected ? "infected" : "clean",
                    signature: infected ? "Eicar-Test-Signature" : nil, duration: 0.05, source: "drain", engine: "clamd",
                    action: "moved", inode: UInt64(1_000_000 + i), device: 2049))
                if batch.count == 1000 || i == records - 1 {
                    try journal.append(batch)
                    batch.removeAll(keepingCapacity: true)
                }
            }
            let seconds = MonotonicClock.now() - started
            func size(_ file: String) -> Int64 {
                guard case .success(let metadata) = FileMetadata.read(path: file) else { return 0 }
                return metadata.size
            }
            print("\(records) records in \(String(format: "%.2f", seconds)) s; \(path): \(size(path)) bytes; \(journal.rotatedPath): \(size(journal.rotatedPath)) bytes")
        }
    }
}
