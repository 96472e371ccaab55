import Foundation
import ScanCore
import ScanCoreTestSupport
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The plugin contract under hostile argv: every mode × every numeric option × hostile
/// numbers (huge, negative, nan, inf, 1e309, -0, empty, unicode, suffixes), run as the real binary
/// (a crash kills only the child): exit 0–3, never a signal, and exactly one status line.
@Suite("Argv fuzz")
struct ArgvFuzzTests {
    /// The hostile values: each is given to each numeric option of each mode.
    static let hostile: [String] = [
        "9223372036854775807", "9223372036854775808", "-9223372036854775808", "-9223372036854775809",
        "18446744073709551616", String(repeating: "9", count: 400), "0." + String(repeating: "0", count: 400) + "1",
        "1e309", "-1e309", "1e308", "1.7976931348623157e308", "4.9e-324", "1e15", "1000000000000001", "-1000000000000001",
        "999999999999999", "1000000000", "1000000001", "4294967296", "2147483648", "86400000000000d",
        "nan", "NaN", "-nan", "nan:", "inf", "-inf", "+inf", "infinity", "~:inf", "@nan:inf", "1:1e309",
        "-0", "-0.0", "+0", "0", "0.0000001", "-1", "-1s", ".5", "5.", "..", "+", "-", "~", ":", "@", "~:~", "10:5",
        "", " ", " 10", "10 ", "10\n20", "10\u{0}", "\u{7}", "0x10", "1_000", "1,5", "1e3", "١٢", "１２", "10💥", "💥",
        "10s", "10m", "2h", "1d", "10w", "1.5h", "99999999999999999999d", "1e9s", "-5:-1", "@10:20", "~:10", "10:",
        "--", "-w", "--help-me",
    ]

    /// Per mode, its numeric options (beyond -t/--timeout and --now, which every mode has).
    static let numericOptions: [String: [String]] = [
        "backlog": ["-w", "-c", "--top"],
        "age": ["-w", "-c", "--top"],
        "wait": ["-w", "-c", "--top", "--percentile", "--window"],
        "stuck": ["--top", "--window"],
        "infected": ["-w", "-c", "--top", "--window"],
        "clamd": ["-w", "-c", "--clamd-timeout", "--scan-warn", "--scan-crit"],
        "signatures": ["-w", "-c", "--clamd-timeout", "--max-behind"],
        "probe": ["--clamd-timeout"],
        "rescan": ["-w", "-c", "--stale", "--stale-critical"],
        "all": ["--backlog-warning", "--backlog-critical", "--age-warning", "--age-critical", "--wait-warning",
                "--wait-critical", "--percentile", "--wait-window", "--stuck-window", "--infected-window",
                "--infected-warning", "--infected-critical", "--clamd-warning", "--clamd-critical", "--clamd-scan-warning", "--clamd-scan-critical",
                "--signatures-warning", "--signatures-critical", "--top", "--clamd-timeout"],
    ]

    static let commonNumeric = ["-t", "--timeout", "--now"]

    /// SplitMix64: the same argv on every run, so a failure names a reproducible case.
    struct Generator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func pick<T>(_ items: [T]) -> T { items[Int(next() % UInt64(items.count))] }
    }

    /// Every (mode, option, hostile value) once, then random combinations of 2–4 hostile options.
    static func argvs(count: Int, fixed: (String) -> [String]) -> [[String]] {
        var result: [[String]] = []
        let modes = numericOptions.keys.sorted()
        for mode in modes {
            for option in commonNumeric + numericOptions[mode]! {
                for value in hostile {
                    // Alternate the two spellings: `--opt value` and `--opt=value`.
                    let pair = option.hasPrefix("--") && result.count % 2 == 0 ? ["\(option)=\(value)"] : [option, value]
                    result.append([mode] + fixed(mode) + pair)
                }
            }
        }
        var random = Generator(state: 12)
        while result.count < count {
            let mode = random.pick(modes)
            var argv = [mode] + fixed(mode)
            for _ in 0..<(2 + Int(random.next() % 3)) {
                argv += [random.pick(commonNumeric + numericOptions[mode]!), random.pick(hostile)]
            }
            result.append(argv)
        }
        return result
    }

    @Test func hostileNumbersNeverCrashThePlugin() throws {
        let tree = try PipelineTree()
        try tree.file("incoming/a.pdf", size: 100, age: 30)
        try tree.file("incoming/sub/b.pdf", size: 5_000_000, age: 7200)
        try tree.file("draft-incoming/c.pdf", size: 1, age: 86400 * 400)
        try tree.file("clean/d.pdf", size: 10, age: 5)
        try tree.file("infected/e.pdf", size: 10, age: 60)
        let databases = tree.root + "/db"
        try FileManager.default.createDirectory(atPath: databases, withIntermediateDirectories: true)
        // Fast local failures for every clamd mode: a socket path that does not exist.
        let fixed: (String) -> [String] = { _ in
            ["--root", tree.root, "--state-dir", tree.root + "/state", "--database-dir", databases,
             "--socket", tree.root + "/no-clamd.ctl"]
        }
        // ARGV_FUZZ_COUNT runs more (or, to try a change quickly, fewer) than the 5,200 of CI.
        let count = ProcessInfo.processInfo.environment["ARGV_FUZZ_COUNT"].flatMap { Int($0) } ?? 5_200
        let argvs = Array(Self.argvs(count: count, fixed: fixed).prefix(count))
        if count >= 5_000 { #expect(argvs.count >= 5_000) }

        let failures = Mutex<[String]>([])
        let lanes = 4  // 2 cores; the children spend part of their life in exec and exit
        let started = MonotonicClock.now()
        DispatchQueue.concurrentPerform(iterations: lanes) { lane in
            for index in stride(from: lane, to: argvs.count, by: lanes) {
                let argv = argvs[index]
                if let problem = Self.problem(running: argv) {
                    failures.withLock { $0.append("\(problem): check_virus_scan \(argv.map { "'\($0)'" }.joined(separator: " "))") }
                }
            }
        }
        let seconds = MonotonicClock.now() - started
        let found = failures.withLock { $0 }
        #expect(found.isEmpty, "\(found.count) of \(argvs.count) argv broke the plugin contract:\n\(found.prefix(30).joined(separator: "\n"))")
        print("argv fuzz: \(argvs.count) runs in \(PerfDatum.format((seconds * 10).rounded() / 10)) s, \(found.count) failures")
    }

    /// What is wrong with the plugin's answer to `argv`, or nil.
    static func problem(running argv: [String]) -> String? {
        let child: ChildProcess
        do {
            // No backtracer: a crash must end the child at once (it once hung 40 s symbolicating).
            child = try ChildProcess(Plugin.binary, argv, extraEnvironment: ["SWIFT_BACKTRACE": "enable=no"])
        } catch {
            return "cannot start: \(error)"
        }
        guard let code = child.wait(timeout: 30) else {
            child.stop(grace: 1)
            return "still running after 30 s"
        }
        if let signal = child.terminationSignal { return "killed by signal \(signal) (exit \(code))" }
        guard (0...3).contains(code) else { return "exit \(code)" }
        let lines = child.stdout.split(separator: "\n", omittingEmptySubsequences: false)
        guard child.stdout.hasSuffix("\n"), let first = lines.first else { return "no newline-terminated output" }
        let states = ["OK", "WARNING", "CRITICAL", "UNKNOWN"]
        guard first.hasPrefix("VIRUS_SCAN \(states[Int(code)]) - ") else { return "status line \"\(first)\" for exit \(code)" }
        if lines.dropFirst().contains(where: { $0.hasPrefix("VIRUS_SCAN ") }) { return "more than one status line" }
        if !child.stderr.isEmpty { return "stderr: \(child.stderr.prefix(200))" }
        return nil
    }
}
