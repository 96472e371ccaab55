// libFuzzer entry points for every parser of outside input. One binary; the environment variable
// FUZZ_TARGET picks the parser (Scripts/fuzz.sh runs each with its corpus Fuzz/corpus/TARGET/).
//
// Each target goes through the parser's public entry point and then through what the plugin does
// with the result (evaluate and render a report), so a value that parses but cannot be printed is
// found too. A crash (trap, ASan report) is a finding; every one becomes a unit test in ScanCoreTests.
import Foundation
import ScanCore

/// The targets, by name.
let targets: [String: @Sendable ([UInt8]) -> Void] = [
    "clamd-reply": fuzzClamdReply,
    "clamd-stats": fuzzClamdStats,
    "clamd-version": fuzzClamdVersion,
    "cvd-header": fuzzCVDHeader,
    "ignore-list": fuzzIgnoreList,
    "layout": fuzzLayout,
    "range": fuzzRange,
    "duration": fuzzDuration,
    "journal": fuzzJournal,
    "rescan-state": fuzzRescanState,
    "dns-txt": fuzzDNSTXT,
]

nonisolated(unsafe) var selected: (([UInt8]) -> Void)?

@_cdecl("LLVMFuzzerInitialize")
public func initialize(_ argc: UnsafeMutablePointer<Int32>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>) -> Int32 {
    let name = ProcessInfo.processInfo.environment["FUZZ_TARGET"] ?? ""
    guard let target = targets[name] else {
        FileHandle.standardError.write(Data("FUZZ_TARGET must be one of: \(targets.keys.sorted().joined(separator: " "))\n".utf8))
        exit(2)
    }
    selected = target
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    let bytes = start.map { Array(UnsafeRawBufferPointer(start: $0, count: count)) } ?? []
    selected?(bytes)
    return 0
}

/// libFuzzer's driver (`int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*cb)(const uint8_t *, size_t))`);
/// three pointer arguments and an int result pass the same way in the Swift and C conventions.
@_silgen_name("LLVMFuzzerRunDriver")
func runDriver(
    _ argc: UnsafeMutablePointer<Int32>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafeRawPointer?, Int) -> CInt
) -> CInt

/// SwiftPM links a debug executable with `main` defined as `ParserFuzz_main` (for testable imports),
/// which hides libFuzzer's own `main`: this one hands over to libFuzzer's driver. A release build
/// uses libFuzzer's `main` directly.
@_cdecl("ParserFuzz_main")
public func fuzzMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    var count = argc
    var arguments = argv
    return runDriver(&count, &arguments) { testOneInput($0, $1) }
}

func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }

/// Renders a report the way the plugin prints it (the formatting paths are part of the target).
func render(_ report: CheckReport) {
    let output = report.render(maxDetailLines: 200)
    precondition(output.hasPrefix("VIRUS_SCAN "), "a report must start with the status line")
}

// MARK: clamd

func fuzzClamdReply(_ bytes: [UInt8]) {
    let reply = text(bytes)
    _ = ClamdReply.isPong(reply)
    _ = ClamdReply.isReloading(reply)
    if let (_, body) = ClamdReply.sessionReply(parsing: reply) { _ = ClamdReply.verdict(parsing: body) }
    if let verdict = ClamdReply.verdict(parsing: reply) {
        render(ProbeCheck.evaluate(endpoint: "fuzz", outcome: .success((verdict, 0.01))))
    }
}

func fuzzClamdStats(_ bytes: [UInt8]) {
    guard let stats = ClamdStats(parsing: text(bytes)) else { return }
    let observation = ClamdObservation(endpoint: "fuzz", ping: .success(0.001), stats: .success(stats))
    render(ClamdCheck.evaluate(observation, thresholds: Thresholds(warning: ThresholdRange(start: 0, end: 10))))
}

func fuzzClamdVersion(_ bytes: [UInt8]) {
    let reply = text(bytes)
    _ = ClamdVersion(parsing: reply, timeZone: .local)
    guard let version = ClamdVersion(parsing: reply, timeZone: .offset(seconds: 0)) else { return }
    let observation = ClamdObservation(endpoint: "fuzz", ping: .success(0.001), version: .success(version))
    render(ClamdCheck.evaluate(observation, thresholds: .none))
}

// MARK: signature databases

func fuzzCVDHeader(_ bytes: [UInt8]) {
    if let header = try? CVDHeader(parsing: bytes) {
        _ = try? CVDHeader(parsing: header.rendered())
    }
    _ = try? CVDHeader(line: text(bytes))
}

func fuzzIgnoreList(_ bytes: [UInt8]) {
    let list = IgnoreList(parsing: text(bytes))
    let again = IgnoreList(parsing: list.rendered())
    for entry in again.entries.prefix(8) {
        _ = again.contains(entry.signature)
        _ = try? IgnoreList.validate(signatureName: entry.signature)
        _ = IgnoreList.databaseName(forReported: entry.signature)
    }
}

// MARK: pipeline

func fuzzLayout(_ bytes: [UInt8]) {
    guard let layout = try? PipelineLayout.parse(config: text(bytes), source: "fuzz", rootOverride: nil) else { return }
    for queue in layout.queues {
        _ = try? layout.queue(named: queue.name)
        for outcome in Outcome.allCases { _ = queue.path(for: outcome) }
    }
}

/// Journal lines through the real reader (a file, read backwards) and the `wait` and `infected` evaluations.
func fuzzJournal(_ bytes: [UInt8]) {
    let path = scratchFile
    guard let fd = Optional(open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)), fd >= 0 else { return }
    _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    close(fd)
    let journal = ScanJournal(path: path)
    let queues = PipelineLayout.standard(root: "/nonexistent-fuzz-root").queues
    let now = 1_700_000_000.0, since = now - 86400 * 365 * 100
    // The real reader for every pipeline's records (the fuzzed lines name any pipeline), then the union.
    let read: Result<JournalRead, PipelineError>
    do throws(Errno) {
        read = .success(try journal.read(since: since, allPipelines: true))
    } catch {
        read = .failure(PipelineError(.io, "\(error)"))
    }
    let history = ProcessingHistory.combine(journal: read, trees: [], queues: queues.map(\.name), now: now, since: since)
    render(WaitCheck.evaluate(history, window: 600, percentile: 90, thresholds: Thresholds(warning: ThresholdRange(start: 0, end: 60)), verbosity: 3))
    render(InfectedCheck.evaluate(history, window: 86400, thresholds: .none, verbosity: 3, topN: 10, now: 1_700_000_000))
}

let scratchFile: String = {
    let path = (ProcessInfo.processInfo.environment["TMPDIR"] ?? "/tmp") + "/virus-scan-fuzz-journal-\(getpid()).jsonl"
    atexit { unlink((ProcessInfo.processInfo.environment["TMPDIR"] ?? "/tmp") + "/virus-scan-fuzz-journal-\(getpid()).jsonl") }
    return path
}()

func fuzzRescanState(_ bytes: [UInt8]) {
    guard let state = try? RescanState(json: bytes, source: "fuzz") else { return }
    _ = state.eta(now: 1_700_000_000)
    _ = try? RescanState(json: state.json(), source: "fuzz")
    let stale = Thresholds(warning: ThresholdRange(start: 0, end: 86400))
    for holders in [nil, [LockProbe.Holder(pid: 42, mode: "WRITE")]] as [[LockProbe.Holder]?] {
        let observation = RescanObservation(statePath: "fuzz", state: state, lockPath: "fuzz.lock", holders: holders)
        render(RescanCheck.evaluate(observation, now: 1_700_000_000, running: .none, stale: stale))
    }
}

// MARK: ranges and durations

func fuzzRange(_ bytes: [UInt8]) {
    let input = text(bytes)
    for unit in [ThresholdRange.Unit.plain, .seconds] {
        guard let range = try? ThresholdRange(parsing: input, unit: unit, option: "-w") else { continue }
        _ = range.perfdataText
        _ = range.alerts(range.start)
        _ = range.alerts(range.end)
        render(CheckReport(results: [CheckResult(.ok, "fuzz")],
                           perfdata: [PerfDatum("fuzz", range.start.isFinite ? range.start : 0, unit: .seconds,
                                                thresholds: Thresholds(warning: range, critical: range))]))
        _ = DurationText.format(range.start)
        _ = DurationText.format(range.end)
    }
}

func fuzzDuration(_ bytes: [UInt8]) {
    let input = text(bytes)
    if let seconds = try? DurationText.parse(input, option: "--window") {
        _ = DurationText.format(seconds)
        _ = PerfDatum.format(seconds)
        _ = ByteText.format(seconds)
    }
    if let seconds = DurationText.parseSeconds(Substring(input)) {
        _ = DurationText.format(seconds)
        _ = PerfDatum.format(seconds)
    }
    _ = try? BoundedNumber.parse(input, option: "--percentile", within: 0...100)
    _ = try? BoundedNumber.parseInteger(input, option: "--top", within: 0...1000)
    _ = try? BoundedNumber.parseBytes(input, option: "--max-size", within: 0...BoundedNumber.maximumBytes)
    // The raw bits as a Double: every formatter is total.
    if bytes.count >= 8 {
        let value = bytes.withUnsafeBytes { $0.loadUnaligned(as: Double.self) }
        _ = PerfDatum.format(value)
        _ = DurationText.format(value)
        _ = ByteText.format(value)
        _ = PerfDatum("fuzz", value, min: value, max: value).description
    }
}

// MARK: DNS

func fuzzDNSTXT(_ bytes: [UInt8]) {
    // The first two bytes of a DNS message are its id: answer to whatever id the input carries.
    let id = bytes.count >= 2 ? UInt16(bytes[0]) << 8 | UInt16(bytes[1]) : 0
    guard let records = try? DNSMessage.parseTXTAnswer(bytes, id: id, name: ClamAVPublishedVersions.recordName) else { return }
    for record in records.prefix(8) { evaluateUpstream(record) }
    evaluateUpstream(text(bytes))
}

/// A TXT record as the `signatures --upstream` check uses it, against a daily 27812 on disk.
func evaluateUpstream(_ record: String) {
    guard let published = ClamAVPublishedVersions(txt: record) else { return }
    let observation = SignaturesObservation(directory: "/db", inventory: .success(dailyOnDisk), upstream: .success(published))
    render(SignaturesCheck.evaluate(observation, now: 1_764_063_182, thresholds: .none, maxBehind: 2))
}

let dailyOnDisk: SignatureDatabaseInventory = {
    let header = try! CVDHeader(line: "ClamAV-VDB:25 Nov 2025 09-33 +0000:27812:2076543:90:0123456789abcdef0123456789abcdef:sig:builder:1764063182")
    let daily = SignatureDatabaseInventory.Container(fileName: "daily.cld", name: "daily", kind: .cld, path: "/db/daily.cld", header: header, fileSize: 1)
    return SignatureDatabaseInventory(directory: "/db", containers: [daily], plainDatabases: [], ignoredSignatures: [], problems: [])
}()
