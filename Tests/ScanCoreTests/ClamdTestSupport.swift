#if canImport(Glibc)
import Glibc
#endif
import ScanCore
import ScanCoreTestSupport
import Testing

/// Expects `body` to throw a ``ClamdError`` with exactly this code and message.
func expectClamdError<T>(
    _ code: ClamdError.Code, _ message: String, sourceLocation: SourceLocation = #_sourceLocation,
    _ body: () throws(ClamdError) -> T
) {
    do {
        let value = try body()
        Issue.record("expected a \(code) error, got \(value)", sourceLocation: sourceLocation)
    } catch {
        #expect(error.code == code, sourceLocation: sourceLocation)
        #expect(error.message == message, sourceLocation: sourceLocation)
    }
}

/// Seconds elapsed while running `body`.
func measure<T>(_ body: () throws -> T) rethrows -> (T, Double) {
    let start = MonotonicClock.now()
    let value = try body()
    return (value, MonotonicClock.now() - start)
}

/// The daily database version the test clamd loads (from `daily.cud`) and its build time.
enum TestDaily {
    static let version = 27_501
    static let buildTime: Int64 = 1_795_603_676  // 2026-11-25 10:47:56 UTC
}

/// One real clamd shared by the real-clamd tests (Swift Testing runs them in parallel): the small
/// test database plus a daily.cud, MaxThreads 2, StreamMaxLength 1 MiB, a unix socket and a TCP
/// port. Started on first use (about a second), stopped when the test process exits.
final class SharedClamd: Sendable {
    static let streamMaxLength = 1 << 20
    static let instance = Result { try SharedClamd() }

    /// The shared daemon; throws (failing the test) with clamd's output if it would not start.
    static func get() throws -> SharedClamd { try instance.get() }

    let process: ClamdProcess
    /// Sample files: a clean text file, EICAR, EICAR in a zip made by the `zip` CLI, the daily marker.
    let samples: Samples

    struct Samples: Sendable {
        let directory: String
        let clean: String
        let eicar: String
        let eicarZip: String
        let dailyMarker: String
        let large: String
    }

    private init() throws {
        process = try ClamdProcess(
            ClamdProcess.Configuration(maxThreads: 2, streamMaxLength: Self.streamMaxLength, tcp: true)
        ) { database in
            try SignatureFixtures.writeSmall(to: database)
            try UnsignedDailyDatabase.write(to: database, version: TestDaily.version, buildTime: TestDaily.buildTime)
        }
        samples = try Self.writeSamples(in: process.directory + "/samples")
    }

    static func writeSamples(in directory: String) throws -> Samples {
        try FileOutput.makeDirectory(directory)
        let clean = directory + "/clean.txt"
        try FileOutput.write("Quarterly report attached. Nothing to see here.\n", to: clean)
        let eicar = directory + "/eicar.com"
        try FileOutput.write(EICAR.bytes, to: eicar)
        let zip = directory + "/eicar.zip"
        let status = try ClamdProcess.run(["/usr/bin/zip", "-q", "-j", zip, eicar, clean])
        guard status == 0 else { throw FixtureError("zip exited with status \(status)") }
        let marker = directory + "/daily-marker.txt"
        try FileOutput.write(UnsignedDailyDatabase.matchingBytes, to: marker)
        let large = directory + "/large.bin"
        try FileOutput.write([UInt8](repeating: 0x41, count: 3 * streamMaxLength), to: large)
        return Samples(directory: directory, clean: clean, eicar: eicar, eicarZip: zip, dailyMarker: marker, large: large)
    }
}
