import Foundation
import ScanCore
import ScanCoreTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Runs the built `check_virus_scan` binary as Icinga does: argv in, stdout and exit code out.
enum Plugin {
    struct Run: CustomStringConvertible {
        var stdout: String
        var stderr: String
        var exitCode: Int32
        var seconds: Double
        var lines: [String] { stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) }
        var statusLine: String { lines.first ?? "" }
        /// Line `index` of stdout, or "" when there is no such line (so a short output fails the
        /// expectation instead of crashing the whole test run).
        func line(_ index: Int) -> String { index < lines.count ? lines[index] : "" }
        var description: String { "exit \(exitCode)\n\(stdout)\(stderr.isEmpty ? "" : "stderr: \(stderr)")" }
        /// The perfdata after the first `|` of line 1, parsed.
        var perfdata: [PerfItem] { PerfItem.parseAll(statusLine) }
        func perf(_ label: String) -> PerfItem? { perfdata.first { $0.label == label } }
    }

    /// The binary next to the test bundle (the build directory), or `CHECK_VIRUS_SCAN` if set.
    static let binary: String = {
        if let explicit = ProcessInfo.processInfo.environment["CHECK_VIRUS_SCAN"] { return explicit }
        var candidates: [String] = []
        if let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            candidates.append((exe as NSString).deletingLastPathComponent)
        }
        candidates.append((CommandLine.arguments[0] as NSString).deletingLastPathComponent)
        candidates.append(Bundle.main.bundlePath)
        // .../Tests/CheckVirusScanTests/PluginHarness.swift → package root/.build/debug
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        candidates.append(root.appendingPathComponent(".build/debug").path)
        for directory in candidates {
            // The test bundle may be a directory (…xctest/) or a file next to the products.
            for base in [directory, (directory as NSString).deletingLastPathComponent] {
                let path = base + "/check_virus_scan"
                if FileManager.default.isExecutableFile(atPath: path) { return path }
            }
        }
        return candidates[0] + "/check_virus_scan"
    }()

    /// `virus_scan_exporter`, built beside the plugin.
    static var exporterBinary: String { (binary as NSString).deletingLastPathComponent + "/virus_scan_exporter" }

    /// Runs the plugin; kills it after `limit` seconds (the test then fails on the exit code).
    /// Spawned with posix_spawn (ChildProcess), never Foundation's Process: see ChildProcess.
    static func run(_ arguments: [String], limit: Double = 30, environment: [String: String]? = nil) throws -> Run {
        let started = Date()
        let result = try ChildProcess.run(binary, arguments, timeout: limit, environment: environment)
        return Run(
            stdout: result.stdout, stderr: result.stderr,
            exitCode: result.exitCode ?? 128 + SIGKILL, seconds: Date().timeIntervalSince(started))
    }
}

/// One perfdata item parsed by the grammar `'label'=value[UOM];[warn];[crit];[min];[max]`.
struct PerfItem: Equatable, CustomStringConvertible {
    var label: String
    var value: Double
    var unit: String
    var warning: String
    var critical: String
    var min: String
    var max: String
    var description: String { "'\(label)'=\(value)\(unit);\(warning);\(critical);\(min);\(max)" }

    /// Parses the perfdata part of a status line strictly; records a test issue for anything malformed.
    static func parseAll(_ statusLine: String) -> [PerfItem] {
        guard let bar = statusLine.firstIndex(of: "|") else { return [] }
        let text = statusLine[statusLine.index(after: bar)...].trimmingCharacters(in: .whitespaces)
        var items: [PerfItem] = []
        let pattern = #/^'([a-z0-9_]+)'=(-?[0-9]+(?:\.[0-9]+)?)(s|B|%|)(?:;([^; ]*)(?:;([^; ]*)(?:;(-?[0-9.]*)(?:;(-?[0-9.]*))?)?)?)?$/#
        for token in text.split(separator: " ") {
            guard let match = String(token).wholeMatch(of: pattern) else {
                Issue.record("malformed perfdata item: \(token)")
                continue
            }
            items.append(PerfItem(
                label: String(match.1), value: Double(String(match.2))!, unit: String(match.3),
                warning: match.4.map(String.init) ?? "", critical: match.5.map(String.init) ?? "",
                min: match.6.map(String.init) ?? "", max: match.7.map(String.init) ?? ""))
        }
        return items
    }
}

/// A pipeline tree in a temporary directory, with files whose times are set into the past.
final class PipelineTree {
    let root: String
    /// The "now" passed to the plugin with `--now` (whole seconds), so ages are exact.
    let now = Date().timeIntervalSince1970.rounded(.down)

    init(queues: [String] = ["incoming", "draft-incoming"], outcomeTrees: Bool = true) throws {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("cvs-\(UUID().uuidString.prefix(8))")
        root = base.path
        for queue in queues { try FileManager.default.createDirectory(atPath: root + "/" + queue, withIntermediateDirectories: true) }
        if outcomeTrees {
            for tree in ["clean", "infected", "draft-clean", "draft-infected"] {
                try FileManager.default.createDirectory(atPath: root + "/" + tree, withIntermediateDirectories: true)
            }
        }
        try FileManager.default.createDirectory(atPath: root + "/state", withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: root) }

    /// Writes `size` bytes at `relative` with mtime `age` seconds ago.
    @discardableResult
    func file(_ relative: String, size: Int = 10, age: Double = 0) throws -> String {
        let path = root + "/" + relative
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: path, contents: Data(repeating: 0x41, count: size))
        try setAge(relative, age)
        return path
    }

    /// Sets the mtime (and atime) of `relative` to `age` seconds ago.
    func setAge(_ relative: String, _ age: Double) throws {
        let when = now - age
        var times = [timespec(tv_sec: Int(when), tv_nsec: Int((when - floor(when)) * 1e9)), timespec()]
        times[1] = times[0]
        let rc = utimensat(AT_FDCWD, root + "/" + relative, &times, AT_SYMLINK_NOFOLLOW)
        if rc != 0 { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
    }

    /// Moves a queued file into an outcome tree now (as the scanner does: rename stamps the ctime).
    func process(_ relative: String, from queue: String = "incoming", to tree: String = "clean") throws {
        let destination = root + "/" + tree + "/" + relative
        try FileManager.default.createDirectory(atPath: (destination as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        guard rename(root + "/" + queue + "/" + relative, destination) == 0 else {
            throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO)
        }
    }

    /// The scan journal in `state/`, writing this tree's pipeline identity as drain does.
    var journal: ScanJournal {
        ScanJournal(path: root + "/state/journal.jsonl", pipeline: PipelineLayout.standard(root: root).pipelineIdentity)
    }

    /// `MODE --root DIR --state-dir DIR/state --now NOW` plus `extra`.
    func args(_ mode: String, _ extra: [String] = []) -> [String] {
        [mode, "--root", root, "--state-dir", root + "/state", "--now", String(Int(now))] + extra
    }
}
