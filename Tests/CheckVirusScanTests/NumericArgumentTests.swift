import Foundation
import ScanCoreTestSupport
import Testing

/// Numbers are bounded types: the argv that crashed the plugin with SIGILL (exit 132, no
/// status line) are now one `VIRUS_SCAN UNKNOWN - …` line naming the option and the accepted range;
/// the remediation commands' numeric options are usage errors (exit 64) instead of traps.
@Suite("Numeric arguments")
struct NumericArgumentTests {
    @Test(arguments: [
        // PerfDatum formatting of the range (trapped in Int64(_:)).
        (["backlog", "-w", "9223372036854775807"], "--warning: '9223372036854775807' is not a valid range: end '9223372036854775807' is out of range (at most 10^15 in magnitude; ~ or an empty end for unbounded); use N, N:, ~:N, N:M or @N:M"),
        (["backlog", "-w", "99999999999999999999:"], "--warning: '99999999999999999999:' is not a valid range: start '99999999999999999999' is out of range (at most 10^15 in magnitude; ~ or an empty end for unbounded); use N, N:, ~:N, N:M or @N:M"),
        (["age", "-c", "99999999999999999999d"], "--critical: '99999999999999999999d' is not a valid range: end '99999999999999999999d' is out of range (at most 10^15 in magnitude; ~ or an empty end for unbounded); use N, N:, ~:N, N:M or @N:M (seconds, or with a suffix s/m/h/d)"),
        // The watchdog's timespec (trapped in Int(_:)).
        (["backlog", "-t", "9223372036854775808"], "--timeout: '9223372036854775808' is out of range: at most 1000000000 seconds (about 31 years)"),
        (["age", "--timeout", "1000000001"], "--timeout: '1000000001' is out of range: at most 1000000000 seconds (about 31 years)"),
        // Its own error message (trapped formatting nan).
        (["wait", "--percentile", "nan"], "--percentile: must be more than 0 and at most 100, got nan"),
        (["wait", "--percentile", "inf"], "--percentile: must be more than 0 and at most 100, got inf"),
        (["all", "--percentile", "nan"], "--percentile: must be more than 0 and at most 100, got nan"),
        (["stuck", "--window", "1e309"], "--window: '1e309' is not a duration (a number of seconds, or with a suffix: 90s, 10m, 2h, 1d)"),
        (["infected", "--window", "9999999999999999999999d"], "--window: '9999999999999999999999d' is out of range: at most 1000000000 seconds (about 31 years)"),
        (["backlog", "--now", "nan"], "--now: 'nan' is out of range: use epoch seconds within ±10^15 (see check_virus_scan backlog --help)"),
        (["clamd", "--clamd-timeout", "9223372036854775808"], "--clamd-timeout: '9223372036854775808' is out of range: at most 1000000000 seconds (about 31 years)"),
        (["signatures", "--max-behind", "9223372036854775807"], "--max-behind: must be 0 to 1000000, got 9223372036854775807"),
    ])
    func outOfRangeIsOneUnknownLine(_ arguments: [String], _ message: String) throws {
        let tree = try PipelineTree()
        try tree.file("incoming/a.pdf", size: 10, age: 60)
        let run = try Plugin.run(tree.args(arguments[0], Array(arguments.dropFirst()) + ["--database-dir", tree.root, "--socket", tree.root + "/none.ctl"]),
                                 environment: ["SWIFT_BACKTRACE": "enable=no", "PATH": "/usr/bin:/bin"])
        #expect(run.exitCode == 3, "\(run)")
        #expect(run.stdout == "VIRUS_SCAN UNKNOWN - \(message)\n", "\(run)")
        #expect(run.stderr == "")
    }

    /// The limits themselves are accepted: the plugin runs and formats them.
    @Test func limitsAreAccepted() throws {
        let tree = try PipelineTree()
        try tree.file("incoming/a.pdf", size: 10, age: 60)
        let run = try Plugin.run(tree.args("backlog", ["-w", "~:1000000000000000", "-c", "-1000000000000000:1000000000000000", "-t", "1000000000"]))
        #expect(run.exitCode == 0, "\(run)")
        #expect(run.statusLine.hasPrefix("VIRUS_SCAN OK - 1 file queued; oldest 1m | 'backlog'=1;~:1000000000000000;-1000000000000000:1000000000000000;0 'backlog_size'=10B;;;0 "), "\(run)")
    }

    @Test(arguments: [
        (["drain", "--max-size", "9223372036854775807G", "--queue", "incoming"], "--max-size: '9223372036854775807G' is out of range: use 0 to 1125899906842624 bytes (suffixes k, M, G, T)"),
        (["drain", "--min-age", "nan"], "--min-age: 'nan' is not a number (seconds, or with a suffix s/m/h/d)"),
        (["restart-clamd", "--deadline", "inf", "--dry-run"], "--deadline: 'inf' is not a number (seconds, or with a suffix s/m/h/d)"),
        (["scan", "--jobs", "9223372036854775807", "."], "--jobs: must be 1 to 1024, got 9223372036854775807"),
        (["rescan-clean", "--scan-timeout", "9223372036854775807"], "--scan-timeout: must be at least 1 second and at most 1000000000, got 9223372036854775807"),
        (["rescan-clean", "--yield-check-interval", "nan"], "--yield-check-interval: must be more than 0 and at most 3600 seconds, got nan"),
    ])
    func remediationNumbersAreUsageErrors(_ arguments: [String], _ message: String) throws {
        let tree = try PipelineTree()
        var argv = arguments
        if ["drain", "rescan-clean"].contains(argv[0]) { argv += ["--root", tree.root, "--state-dir", tree.root + "/state"] }
        let run = try Plugin.run(argv, environment: ["SWIFT_BACKTRACE": "enable=no", "PATH": "/usr/bin:/bin"])
        #expect(run.exitCode == 64, "\(run)")
        #expect(run.stderr.hasPrefix("Error: \(message)\n"), "\(run)")
    }

    @Test func rescanCleanByteOptionIsAUsageError() throws {
        let tree = try PipelineTree()
        let run = try Plugin.run(["rescan-clean", "--root", tree.root, "--state-dir", tree.root + "/state", "--max-rate", "9223372036854775807G"],
                                 environment: ["SWIFT_BACKTRACE": "enable=no", "PATH": "/usr/bin:/bin"])
        #expect(run.exitCode == 64, "\(run)")
        #expect(run.stderr == "rescan-clean: --max-rate: '9223372036854775807G' is out of range: use 1 to 1125899906842624 bytes (suffixes k, M, G, T)\n", "\(run)")
    }
}
