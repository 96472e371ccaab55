import ArgumentParser
import ScanCore
import ScanCoreCLI

#if canImport(Glibc)
import Glibc
#endif

/// Exit codes of the remediation commands (documented in each command's help).
enum RemediationExit {
    /// Done: every file that was ready reached its outcome tree (drain); no virus found (scan).
    static let ok: Int32 = 0
    /// drain: some files stayed queued (scan error, size limit, conflict, changed while scanning,
    /// move failure) or the list/journal could not be written. scan: a virus was found.
    static let attention: Int32 = 1
    /// The command could not run (no engine, queue or tree missing, clamd not back, bad input).
    static let failed: Int32 = 2
    /// drain: another run holds the queue's lock; nothing was touched (EX_TEMPFAIL).
    static let lockHeld: Int32 = 75
    /// drain and rescan-clean: the storm breaker held files (one signature matched --storm-limit
    /// distinct files); they stay where they were. Wins over 1 and 75, not over 2.
    static let held: Int32 = 6
}

/// `--storm-limit`, shared by drain and rescan-clean.
struct StormLimitOption: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Hold further files of a signature once it matched this many distinct files (drain: this run plus the journal's last hour; rescan-clean: this run); 0 turns it off (default \(StormBreaker.defaultLimit)).", valueName: "n"))
    var stormLimit: String = "\(StormBreaker.defaultLimit)"

    /// The limit: 0 to 10^9; anything else is a usage error (64).
    func limit() throws -> Int {
        guard let value = Int(stormLimit), (0...1_000_000_000).contains(value) else {
            throw ValidationError("--storm-limit: must be a whole number from 0 (off) to 1000000000, got '\(stormLimit)'")
        }
        return value
    }

    func validate() throws { _ = try limit() }
}

extension EngineOptions {
    /// What `ignore-signature` needs to reach the same database directory and clamd.
    var ignoreOptions: [String] {
        var words: [String] = []
        if databaseDir != ClamdDefaults.databaseDirectory { words += ["--database-dir", databaseDir] }
        if let socket { words += ["--socket", socket] } else if let first = tcp.first { words += ["--tcp", first] }
        return words
    }
}

/// Options choosing and reaching the scanning engine (drain, scan).
struct EngineOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("auto (clamd when it answers PING, else libclamav), clamd or libclamav.", valueName: "engine"))
    var engine: EngineChoice = .auto

    @Option(name: .long, help: ArgumentHelp("clamd's unix socket (default \(ClamdDefaults.socket)); FILDES scanning.", valueName: "path"))
    var socket: String?

    @Option(name: .long, help: ArgumentHelp("A clamd TCP address (INSTREAM); repeat to spread the work over several daemons.", valueName: "host:port"))
    var tcp: [String] = []

    @Option(name: .long, help: ArgumentHelp("The signature database directory (for --engine libclamav).", valueName: "dir"))
    var databaseDir: String = ClamdDefaults.databaseDirectory

    @Option(name: .shortAndLong, help: ArgumentHelp("Files scanned at once; with libclamav, the scanning processes forked from the loaded engine (default: the number of cores).", valueName: "n"))
    var jobs: Int?

    @Option(name: .long, help: ArgumentHelp("Per-file scan time limit in seconds (clamd; with libclamav the worker is killed and replaced, the file stays queued).", valueName: "seconds"))
    var scanTimeout: Int = 120

    func endpoints() throws -> [ClamdEndpoint] {
        if !tcp.isEmpty {
            return try tcp.map { text throws(ClamdError) -> ClamdEndpoint in
                try ClamdEndpoint(parsing: text.hasPrefix("tcp:") ? text : "tcp:" + text)
            }
        }
        return [.unix(path: socket ?? ClamdDefaults.socket)]
    }

    var jobCount: Int { max(1, jobs ?? Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))) }

    func validate() throws {
        if let jobs, !EngineBounds.jobs.contains(jobs) { throw ValidationError("--jobs: must be 1 to 1024, got \(jobs)") }
        guard EngineBounds.scanTimeout.contains(scanTimeout) else {
            throw ValidationError("--scan-timeout: must be at least 1 second and at most 1000000000, got \(scanTimeout)")
        }
    }

    func makeScanner(verbose: Bool) throws -> any FileScanner {
        try ScannerFactory.make(choice: engine, endpoints: try endpoints(), databaseDirectory: databaseDir,
                                scanTimeout: .seconds(scanTimeout), processes: jobCount,
                                notes: { if verbose { standardError($0) } })
    }
}

/// The bounds of `--jobs` and `--scan-timeout` (seconds), shared by drain, scan and rescan-clean.
enum EngineBounds {
    static let jobs = 1...1024
    static let scanTimeout = 1...1_000_000_000
}

/// Where clamd is, for the commands that talk to one daemon (restart-clamd, ignore-signature's
/// reload, db-info, clamd-status): one `--socket` or one `--tcp`; several are refused (exit 64)
/// rather than one picked silently, as the check modes' pool would read them.
struct DaemonOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("clamd's unix socket (default \(ClamdDefaults.socket)). One daemon only: give one --socket or one --tcp.", valueName: "path"))
    var socket: [String] = []

    @Option(name: .long, help: ArgumentHelp("clamd over TCP instead of the socket.", valueName: "host:port"))
    var tcp: [String] = []

    func validate() throws {
        if socket.count + tcp.count > 1 {
            throw ValidationError("this command talks to one clamd, but \(socket.count + tcp.count) are given (\((socket.map { "--socket \($0)" } + tcp.map { "--tcp \($0)" }).joined(separator: ", "))): give one --socket or one --tcp")
        }
    }

    func endpoint() throws -> ClamdEndpoint {
        if let tcp = tcp.first { return try ClamdEndpoint(parsing: tcp.hasPrefix("tcp:") ? tcp : "tcp:" + tcp) }
        return .unix(path: socket.first ?? ClamdDefaults.socket)
    }

    func client() throws -> ClamdClient { ClamdClient(endpoint: try endpoint()) }
}

/// Seconds as "1.25 s" or "3.1 ms".
func formatSeconds(_ seconds: Double) -> String {
    if seconds < 1 { return "\((seconds * 10_000).rounded() / 10) ms" }
    return "\((seconds * 100).rounded() / 100) s"
}
