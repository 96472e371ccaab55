import Foundation
import ScanCoreTestSupport
import Testing

/// The plugin contract for arguments: exit 3 with one `VIRUS_SCAN UNKNOWN - …` line on stdout,
/// nothing on stderr, for every kind of bad input; `--help` and `-V` exit 3 too.
@Suite("CLI contract", .serialized)
struct CLIContractTests {
    static let modes = "backlog, age, wait, stuck, infected, clamd, signatures, probe, rescan, all"

    @Test(arguments: [
        ([String](), "VIRUS_SCAN UNKNOWN - no mode given: use check_virus_scan MODE [options], MODE one of \(modes)"),
        (["bogus"], "VIRUS_SCAN UNKNOWN - unknown mode 'bogus': use one of \(modes)"),
        (["-w", "10", "backlog"], "VIRUS_SCAN UNKNOWN - the mode must come first: check_virus_scan MODE [options], MODE one of \(modes)"),
        (["backlog", "--bogus"], "VIRUS_SCAN UNKNOWN - Unknown option '--bogus' (see check_virus_scan backlog --help)"),
        (["backlog", "-w", "abc"], "VIRUS_SCAN UNKNOWN - --warning: 'abc' is not a valid range: end 'abc' is not a number; use N, N:, ~:N, N:M or @N:M"),
        (["backlog", "-c", "20:10"], "VIRUS_SCAN UNKNOWN - --critical: '20:10' is not a valid range: start 20 is greater than end 10; use N, N:, ~:N, N:M or @N:M"),
        (["backlog", "-w", "1e3"], "VIRUS_SCAN UNKNOWN - --warning: '1e3' is not a valid range: end '1e3' is not a number; use N, N:, ~:N, N:M or @N:M"),
        (["backlog", "-w", "10m"], "VIRUS_SCAN UNKNOWN - --warning: '10m' is not a valid range: end '10m' is not a number; use N, N:, ~:N, N:M or @N:M"),
        (["age", "-w", "5x"], "VIRUS_SCAN UNKNOWN - --warning: '5x' is not a valid range: end '5x' is not a number; use N, N:, ~:N, N:M or @N:M (seconds, or with a suffix s/m/h/d)"),
        (["age", "-c", "inf"], "VIRUS_SCAN UNKNOWN - --critical: 'inf' is not a valid range: end 'inf' is not a number; use N, N:, ~:N, N:M or @N:M (seconds, or with a suffix s/m/h/d)"),
        (["wait", "--window", "soon"], "VIRUS_SCAN UNKNOWN - --window: 'soon' is not a duration (a number of seconds, or with a suffix: 90s, 10m, 2h, 1d)"),
        (["wait", "--percentile", "0"], "VIRUS_SCAN UNKNOWN - --percentile: must be more than 0 and at most 100, got 0"),
        (["backlog", "-t", "0"], "VIRUS_SCAN UNKNOWN - --timeout: must be more than 0 seconds"),
        (["backlog", "-t", "ten"], "VIRUS_SCAN UNKNOWN - --timeout: 'ten' is not a duration (a number of seconds, or with a suffix: 90s, 10m, 2h, 1d)"),
        (["backlog", "--age-source", "ctime"], "VIRUS_SCAN UNKNOWN - The value 'ctime' is invalid for '--age-source <source>'. Please provide one of 'mtime' and 'btime'. (see check_virus_scan backlog --help)"),
        (["backlog", "--config", "/nonexistent/virus-scan.yml"], "VIRUS_SCAN UNKNOWN - cannot read config file /nonexistent/virus-scan.yml: No such file or directory (errno 2)"),
        (["backlog", "--root", "/tmp", "--queue", "nope"], "VIRUS_SCAN UNKNOWN - unknown queue 'nope' (this layout has: incoming, draft-incoming)"),
        (["backlog", "--top", "5000"], "VIRUS_SCAN UNKNOWN - --top: must be between 0 and 1000, got 5000 (see check_virus_scan backlog --help)"),
        (["backlog", "extra"], "VIRUS_SCAN UNKNOWN - Unexpected argument 'extra' (see check_virus_scan backlog --help)"),
    ])
    func badInputIsOneUnknownLine(_ arguments: [String], _ expected: String) throws {
        let run = try Plugin.run(arguments)
        #expect(run.exitCode == 3, "\(run)")
        #expect(run.stdout == expected + "\n", "\(run)")
        #expect(run.stderr == "")
    }

    @Test(arguments: [
        (["--help"], "USAGE: check_virus_scan <subcommand>"), (["-h"], "USAGE: check_virus_scan <subcommand>"),
        (["help"], "USAGE: check_virus_scan <subcommand>"), (["backlog", "--help"], "USAGE: check_virus_scan backlog "),
        (["age", "-h"], "USAGE: check_virus_scan age "), (["help", "wait"], "USAGE: check_virus_scan wait "),
        (["stuck", "-w", "x", "--help"], "USAGE: check_virus_scan stuck "),
    ])
    func helpExitsThree(_ arguments: [String], _ usage: String) throws {
        let run = try Plugin.run(arguments)
        #expect(run.exitCode == 3, "\(run)")
        #expect(run.stdout.contains(usage), "\(run)")
        #expect(run.stderr == "")
    }

    @Test func rootHelpListsEveryMode() throws {
        let run = try Plugin.run(["--help"])
        for mode in Self.modes.split(separator: ", ") { #expect(run.stdout.contains("  \(mode) "), "\(mode)") }
    }

    @Test(arguments: [["-V"], ["--version"], ["backlog", "-V"], ["backlog", "-w", "10", "--version"]])
    func versionExitsThree(_ arguments: [String]) throws {
        let run = try Plugin.run(arguments)
        #expect(run.exitCode == 3)
        #expect(run.stdout == "check_virus_scan 0.1.0\n")
    }

    /// A FIFO where the config file should be: the layout reader opens it non-blocking and
    /// refuses it as not a regular file at once (it used to block in open() until the watchdog).
    @Test func fifoAsTheConfigIsRefusedAtOnce() throws {
        let fifo = FileManager.default.temporaryDirectory.appendingPathComponent("cvs-fifo-\(UUID().uuidString.prefix(8))").path
        #expect(mkfifo(fifo, 0o600) == 0)
        defer { unlink(fifo) }
        let run = try Plugin.run(["backlog", "--config", fifo, "-t", "5"], limit: 10)
        #expect(run.exitCode == 3, "\(run)")
        #expect(run.stdout.hasPrefix("VIRUS_SCAN UNKNOWN - cannot read config file \(fifo): not a regular file"), "\(run)")
        #expect(run.seconds < 1, "took \(run.seconds)s")
    }

    /// The watchdog ends a run that waits on a peer (a clamd that accepts and never answers), naming
    /// the phase; `--timeout` takes a duration suffix.
    @Test func watchdogAcceptsDurationSuffix() throws {
        let clamd = try FakeClamd(.neverAnswer)
        defer { clamd.stop() }
        let run = try Plugin.run(["clamd", "--socket", clamd.socketPath, "--clamd-timeout", "30", "--timeout", "1.5s"], limit: 10)
        #expect(run.exitCode == 3, "\(run)")
        #expect(run.stdout == "VIRUS_SCAN UNKNOWN - plugin timed out after 1.5s while waiting for clamd unix:\(clamd.socketPath) to answer PING\n", "\(run)")
        #expect(run.seconds >= 1.5 && run.seconds < 3.5, "took \(run.seconds)s")
    }

    /// `-w -10:-5` needs unconditional parsing; Icinga passes key and value as separate argv entries.
    @Test func negativeRangeAsSeparateArgument() throws {
        let tree = try PipelineTree()
        let run = try Plugin.run(tree.args("backlog", ["-w", "-10:-5", "-c", "~:100"]))
        #expect(run.exitCode == 1, "\(run)")
        #expect(run.statusLine.hasPrefix("VIRUS_SCAN WARNING - 0 files queued (warning above -5)"))
    }
}
