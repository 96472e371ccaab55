import ArgumentParser
import ScanCore
import ScanCoreCLI
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

extension CheckVirusScan {
    /// `drain`: clears a queue's backlog safely (scan, then move to clean or infected).
    struct Drain: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "drain",
            abstract: "Scan every waiting file of a queue and move it to the clean or infected tree, safely.",
            discussion: """
                Takes the queue's lock (flock, as the legacy cron's setlock -n). Only a clean verdict \
                moves a file to clean and only an infected one to infected; a scan error, a file over \
                --max-size, a file over clamd's MaxFileSize, MaxScanSize or StreamMaxLength when clamd \
                scans and its AlertExceedsMax is no (read from --clamd-config), a file changed while scanning and a conflict at the destination stay queued \
                and are reported. Symlinks, FIFOs, sockets and devices are never opened or moved. \
                Newly clean files are listed in --list-dir for the copy-to-slaves job; every scanned \
                file gets a scan-journal record; infected files, errors and a summary go to syslog \
                (tag virus_scan).
                Exit codes: 0 every ready file reached its tree; 1 some files stayed queued or the \
                list/journal could not be written; 2 could not run (no engine, queue or tree \
                missing); 6 the storm breaker held files (below); 75 another run holds the lock (nothing \
                touched); 64 bad arguments.
                Storm breaker: once one signature has matched --storm-limit distinct files (default \
                \(StormBreaker.defaultLimit); this run plus the scan journal's last hour for this pipeline), further \
                files matching it are held: left in the queue exactly as they were (neither published nor \
                quarantined), journaled (action held), logged to syslog, and the run exits 6 with the \
                ignore-signature command to run if it is a false positive; if the detections are real, run \
                drain again with --storm-limit 0.
                With --watch it keeps running (one queue; the engine stays loaded, the lock held): \
                each file is scanned once its writer closed it (inotify) and it stayed quiet for \
                --settle; a sweep at start, every --sweep-interval and after lost events catches the \
                rest (journal source watch-sweep); the heartbeat file <state dir>/watch-<queue>.json \
                is what the exporter and the stuck check read. SIGTERM/SIGINT: the files in hand \
                finish, then exit 0; exit 2 when the queue directory goes away.
                """)

        @OptionGroup var layoutOptions: LayoutOptions
        @OptionGroup var engineOptions: EngineOptions
        @OptionGroup var clamdConfig: ClamdConfigOptions
        @OptionGroup var storm: StormLimitOption

        @Option(name: .long, help: ArgumentHelp("The lock file (default: the queue's, /var/run/virus_scan/incoming.lock or incoming-draft.lock); only with one --queue.", valueName: "path"))
        var lock: String?

        @Option(name: .long, help: ArgumentHelp("Where lists of newly clean files go (default \(PipelineLayout.defaultListDirectory)).", valueName: "dir"))
        var listDir: String?

        @Option(name: .long, help: ArgumentHelp("Skip files modified less than this ago (still being written).", valueName: "seconds"))
        var minAge: String = "10"

        @Option(name: .long, help: ArgumentHelp("Files larger than this are an error, never clean.", valueName: "bytes"))
        var maxSize: String = "100M"

        @Option(name: .long, help: ArgumentHelp("Owner of moved files and created directories (when root).", valueName: "user:group"))
        var owner: String?

        @Flag(name: .long, help: "Scan and report what would move where; move nothing.")
        var dryRun = false

        @Flag(name: .long, help: "For the every-minute cron: no progress bar, silent when the lock is held or nothing happened.")
        var cron = false

        @Flag(name: .shortAndLong, help: "List every file, not only the ones needing attention.")
        var verbose = false

        @Flag(name: .long, help: "Keep running: scan each file as soon as its writer closed it (inotify), sweep periodically.")
        var watch = false

        @Option(name: .long, help: ArgumentHelp("--watch: seconds a closed file must stay quiet before it is scanned.", valueName: "seconds"))
        var settle: String = "1"

        @Option(name: .long, help: ArgumentHelp("--watch: seconds between full sweeps of the queue (also at start and after lost events).", valueName: "seconds"))
        var sweepInterval: String = "60"

        @Option(name: .long, help: ArgumentHelp("--watch: seconds between writes of the heartbeat file.", valueName: "seconds"))
        var heartbeatInterval: String = "10"

        @Option(name: .long, help: ArgumentHelp("--watch: discard the first N events, then act as on an overflow (tests).", visibility: .private))
        var dropEvents: Int = 0

        @Flag(name: .long, help: ArgumentHelp("Copy across filesystems even on one (tests).", visibility: .private))
        var simulateCrossDevice = false

        mutating func run() throws {
            let layout: PipelineLayout
            let queues: [QueueDefinition]
            let minimumAge: Double
            let maximumSize: Int64
            let stormLimit = try storm.limit()
            var moverOptions = SafeMover.Options(simulateCrossDevice: simulateCrossDevice)
            do {
                layout = try layoutOptions.layout()
                queues = try layout.queues(named: layoutOptions.queues)
                minimumAge = try parseSeconds(minAge, option: "--min-age")
                maximumSize = try parseBytes(maxSize, option: "--max-size")
                if let owner {
                    do { moverOptions.owner = try FileOwner(parsing: owner) } catch {
                        throw ValidationError(error.message)  // bad input: exit 64, as documented
                    }
                }
                if lock != nil && queues.count != 1 { throw ValidationError("--lock needs exactly one --queue") }
                if watch && queues.count != 1 { throw ValidationError("--watch needs exactly one --queue (run one watcher per queue)") }
                if watch && dryRun { throw ValidationError("--watch and --dry-run cannot be combined") }
            } catch let error as ValidationError {
                throw error
            } catch {
                standardError("drain: \(error)")
                throw ExitCode(RemediationExit.failed)
            }
            let scanner: any FileScanner
            do { scanner = try engineOptions.makeScanner(verbose: verbose) } catch {
                standardError("drain: \(error)")
                throw ExitCode(RemediationExit.failed)
            }
            if verbose { print("engine: \(scanner.summary)") }
            // clamd with AlertExceedsMax no answers OK for what it did not scan: keep larger files
            // queued. (libclamav here flags exceeded limits itself.)
            var clamdLimit: Int64?
            if scanner.engineName == "clamd" {
                let reading = clamdConfig.reading()
                if case .failed(_, let message) = reading {
                    standardError("drain: \(message)")
                    throw ExitCode(RemediationExit.failed)
                }
                clamdLimit = reading.effective?.cleanVerdictLimit
                if verbose {
                    switch reading {
                    case .absent(let path): print("clamd configuration: none at \(path), clamd's defaults apply")
                    case .read(let path, _): print("clamd configuration: \(path)")
                    default: break
                    }
                    print("over clamd's limit (kept queued): \(clamdLimit.map { "more than \($0) bytes" } ?? "none")")
                }
            }
            if watch {
                try runWatch(layout: layout, queues: queues, scanner: scanner, minimumAge: minimumAge, maximumSize: maximumSize,
                             mover: moverOptions, clamdLimit: clamdLimit, stormLimit: stormLimit)
                return
            }

            var exit = RemediationExit.ok
            for queue in queues {
                var configuration = QueueDrain.Configuration(
                    queue: queue, minimumAge: minimumAge, maximumSize: maximumSize, jobs: engineOptions.jobCount,
                    dryRun: dryRun, lockPath: lock ?? queue.lock, listDirectory: listDir ?? layout.listDirectory,
                    journalPath: layout.journalPath, ageSource: layout.ageSource, mover: moverOptions)
                configuration.clamdLimit = clamdLimit
                configuration.pipeline = layout.pipelineIdentity
                configuration.stormLimit = stormLimit
                configuration.ignoreOptions = engineOptions.ignoreOptions
                let bar = (!cron && isatty(2) == 1) ? ProgressBar(label: queue.name) : nil
                let report: QueueDrain.Report
                do {
                    var callback: (@Sendable (QueueDrain.Progress) -> Void)?
                    if let bar { callback = { bar.update($0) } }
                    report = try QueueDrain(configuration: configuration, scanner: scanner).run(progress: callback)
                } catch let error as RemediationError where error.code == .lockHeld {
                    if !cron { standardError("drain \(queue.name): \(error.message)") }
                    exit = exit == RemediationExit.failed || exit == RemediationExit.held ? exit : RemediationExit.lockHeld
                    continue
                } catch {
                    bar?.finish()
                    standardError("drain \(queue.name): \(error)")
                    exit = RemediationExit.failed
                    continue
                }
                bar?.finish()
                print(Self.render(report, verbose: verbose, cron: cron, ignoreOptions: engineOptions.ignoreOptions), terminator: "")
                if !report.held.isEmpty && exit != RemediationExit.failed {
                    exit = RemediationExit.held
                } else if !report.allResolved && exit == RemediationExit.ok {
                    exit = RemediationExit.attention
                }
            }
            if exit != RemediationExit.ok { throw ExitCode(exit) }
        }

        /// The human report: one line per file needing attention (every file with -v), then the summary.
        static func render(_ report: QueueDrain.Report, verbose: Bool, cron: Bool, ignoreOptions: [String] = []) -> String {
            var out = ""
            let queue = report.queue
            for path in report.removedTemporaries { out += "removed temp file of an interrupted run: \(path)\n" }
            for file in report.files {
                let source = queue.incoming + "/" + file.displayPath
                switch file.disposition {
                case .moved(let outcome), .droppedDuplicate(let outcome):
                    let signature: String = if case .infected(let name)? = file.verdict { " \(name) FOUND;" } else { "" }
                    if outcome == .infected || verbose {
                        out += "\(source):\(signature) \(file.disposition) (\(queue.path(for: outcome))/\(file.displayPath))\n"
                    }
                case .wouldMove(let outcome):
                    let signature: String = if case .infected(let name)? = file.verdict { " \(name) FOUND;" } else { "" }
                    out += "\(source):\(signature) would move to \(queue.path(for: outcome))/\(file.displayPath)\n"
                case .kept, .notRegular, .held:
                    out += "\(source): \(file.disposition)\n"
                case .tooNew, .gone:
                    if verbose { out += "\(source): \(file.disposition)\n" }
                }
            }
            for entry in report.unreadable { out += "\(queue.incoming)/\(entry.path): cannot be read: \(entry.error)\n" }
            for path in report.unlistable {
                out += "\(path): moved to clean, but its name contains a newline, which a list file cannot carry: not listed for copying\n"
            }
            for error in report.listErrors { out += "list file: \(error)\n" }
            for error in report.journalErrors { out += "journal: \(error)\n" }
            if verbose { for list in report.listFiles { out += "list written: \(list)\n" } }
            let nothing = report.files.allSatisfy { if case .tooNew = $0.disposition { true } else { false } }
            if cron && nothing && out.isEmpty { return "" }
            out += QueueDrain.summary(report) + "\n"
            for storm in report.heldBySignature {
                out += "storm: " + StormBreaker.advice(signature: storm.signature, held: storm.held, matched: storm.matched, limit: report.stormLimit,
                                                       ignoreCommand: StormBreaker.ignoreCommand(signature: storm.signature, options: ignoreOptions),
                                                       rerun: "run drain again with --storm-limit 0") + "\n"
            }
            return out
        }
    }
}

/// A one-line progress bar on stderr (files, bytes, rate, ETA), redrawn at most 5 times a second.
final class ProgressBar: Sendable {
    private let label: String
    private let last = Mutex<Double>(0)

    init(label: String) { self.label = label }

    func update(_ progress: QueueDrain.Progress) {
        let now = MonotonicClock.now()
        let draw = last.withLock { last -> Bool in
            if now - last < 0.2 && progress.filesDone < progress.filesTotal { return false }
            last = now
            return true
        }
        guard draw else { return }
        let fraction = progress.bytesTotal > 0 ? Double(progress.bytesDone) / Double(progress.bytesTotal)
            : Double(progress.filesDone) / Double(max(1, progress.filesTotal))
        let width = 24
        let filled = Int((fraction * Double(width)).rounded(.down))
        let rate = progress.elapsed > 0 ? Double(progress.bytesDone) / progress.elapsed : 0
        let eta = rate > 0 ? Double(progress.bytesTotal - progress.bytesDone) / rate : 0
        let line = "\r\(label) [\(String(repeating: "#", count: filled))\(String(repeating: " ", count: width - filled))] "
            + "\(progress.filesDone)/\(progress.filesTotal) files \(Self.mb(progress.bytesDone))/\(Self.mb(progress.bytesTotal)) MB "
            + "\(Self.mb(Int64(rate))) MB/s ETA \(Int(eta) / 60):\(String(format2: Int(eta) % 60))  "
        writeStandardError(line)
    }

    func finish() { writeStandardError("\r\u{1B}[K") }

    private static func mb(_ bytes: Int64) -> String {
        let tenths = (Double(bytes) / 1_048_576 * 10).rounded() / 10
        return "\(tenths)"
    }
}

extension String {
    /// Two digits, zero-padded.
    init(format2 value: Int) { self = value < 10 ? "0\(value)" : "\(value)" }
}
