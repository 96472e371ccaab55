import ArgumentParser
import ScanCore
import ScanCoreCLI
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Set by SIGTERM/SIGINT: the rescan stops after the files in flight and saves its place.
private let rescanStopRequested = Atomic<Bool>(false)

extension CheckVirusScan {
    /// `rescan-clean`: the periodic rescan of the clean trees with the current signatures.
    struct RescanClean: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rescan-clean",
            abstract: "Rescan the clean trees with the current signatures: resumable, polite to incoming uploads, observable.",
            discussion: """
                Walks each queue's clean tree in byte order of relative paths with the databases loaded once \
                (clamd, or libclamav in-process), --jobs files at a time, under a lock. Progress is kept in the \
                state file (default <state dir>/rescan-state.json) after every file, so a run stopped or killed \
                at any point resumes where it stopped; new signature databases start a new pass. While an \
                incoming queue has files waiting longer than --yield-after, the pass pauses. A file now found \
                infected is moved to the queue's infected tree at the same relative path (never replacing \
                anything there), recorded in the scan journal (source rescan) and logged to syslog (tag \
                virus_scan); --report-only moves nothing. Scan errors are counted and reported, never treated \
                as infected.

                Exit codes: 0 the pass completed (or had already completed with these databases) with no \
                detection and no error in this run; 1 files found infected in this run; 2 files that could not \
                be scanned in this run (and none infected); 3 stopped before the end (SIGTERM, SIGINT, \
                --stop-after), the next run resumes; 4 another rescan holds the lock (nothing touched); \
                5 cannot start or continue (engine, tree, state file); 6 the storm breaker held files (wins \
                over 1, 2 and 3); 64 bad arguments.
                Storm breaker: once one signature has matched --storm-limit distinct files in this run (default \
                \(StormBreaker.defaultLimit); 0 turns it off), further files matching it are held: left in the clean \
                tree as they are, reported (HELD), journaled (action held) and logged to syslog; the summary says \
                which signature and what to do (ignore-signature if it is a false positive; if the detections are \
                real, rescan-clean --new-pass --storm-limit 0, since this pass has gone past them).
                """)

        enum Exit {
            static let detections: Int32 = 1
            static let errors: Int32 = 2
            static let stopped: Int32 = 3
            static let lockHeld: Int32 = 4
            static let failed: Int32 = 5
            static let held: Int32 = RemediationExit.held
        }

        @OptionGroup var common: CommonOptions
        @OptionGroup var storm: StormLimitOption

        @Option(name: .long, help: ArgumentHelp("clamd, libclamav (in-process, loads --database-dir) or auto (clamd when it answers).", valueName: "engine"))
        var engine: EngineChoice = .auto

        @Option(name: .long, help: ArgumentHelp("Files scanned at once; with libclamav, the scanning processes forked from the loaded engine (default: the number of cores).", valueName: "n"))
        var jobs: Int?

        @Option(name: .long, help: ArgumentHelp("The lock held while running; the rescan mode looks at the same file.", valueName: "path"))
        var lock: String = Rescan.defaultLock

        @Option(name: .long, help: ArgumentHelp("The state file (default <state dir>/rescan-state.json).", valueName: "path"))
        var stateFile: String?

        @Option(name: .long, help: ArgumentHelp("Pause while an incoming queue has files waiting longer than this (seconds, or 90s, 2m).", valueName: "duration"))
        var yieldAfter: String = "60"

        @Option(name: .long, help: ArgumentHelp("Scan at most this many bytes per second (suffixes k, M, G).", valueName: "rate"))
        var maxRate: String?

        @Flag(name: .long, help: "Report detections without moving anything.")
        var reportOnly = false

        @Flag(name: .long, help: "Start a new pass even if the last one completed with the same databases, or when the state file is invalid (without it: exit 5).")
        var newPass = false

        @Option(name: .long, help: ArgumentHelp("Stop (resumably) after this long (seconds, or 50m, 2h).", valueName: "duration"))
        var stopAfter: String?

        @Option(name: .long, help: ArgumentHelp("Also record every file scanned, clean ones included, in this journal (JSON lines).", valueName: "path"))
        var auditJournal: String?

        @Option(name: .long, help: ArgumentHelp("Per-file scan time limit in seconds: a file that takes longer is a scan error (clamd; with libclamav its scanning process is killed and replaced).", valueName: "seconds"))
        var scanTimeout: Int = 120

        @Option(name: .long, help: ArgumentHelp("Files larger than this are scan errors, never clean (libclamav engine; default 100M).", valueName: "bytes"))
        var maxFileSize: String?

        @Flag(name: .long, help: "Do not log to syslog.")
        var noSyslog = false

        @Flag(name: .long, help: "For an hourly cron job (as the legacy rescan ran): print nothing when another run holds the lock or the pass already completed (the exit codes stay).")
        var cron = false

        @Option(name: .long, help: ArgumentHelp("How often to look at the incoming queues (seconds).", visibility: .hidden))
        var yieldCheckInterval: Double = 1

        @Option(name: .long, help: ArgumentHelp("Seconds between fsynced state writes.", visibility: .hidden))
        var durableInterval: Double = 5

        func validate() throws {
            if let jobs, !EngineBounds.jobs.contains(jobs) { throw ValidationError("--jobs: must be 1 to 1024, got \(jobs)") }
            guard EngineBounds.scanTimeout.contains(scanTimeout) else {
                throw ValidationError("--scan-timeout: must be at least 1 second and at most 1000000000, got \(scanTimeout)")
            }
            for (value, option) in [(yieldCheckInterval, "--yield-check-interval"), (durableInterval, "--durable-interval")] {
                guard value.isFinite, value > 0, value <= 3600 else {
                    throw ValidationError("\(option): must be more than 0 and at most 3600 seconds, got \(PerfDatum.format(value))")
                }
            }
            // -t/--timeout is the check modes' own limit (shared options); a rescan runs for hours.
            if common.timeout != nil {
                throw ValidationError("--timeout is the check modes' time limit and does not apply to rescan-clean: use --stop-after for the whole run, --scan-timeout per file")
            }
        }

        func run() throws {
            let code = execute()
            if code != 0 { throw ExitCode(code) }
        }

        /// `--jobs`, or the number of cores.
        private var jobCount: Int { jobs ?? max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))) }

        private func say(_ line: String) { Self.writeLine(1, line) }

        private func complain(_ line: String) { Self.writeLine(2, "rescan-clean: " + line) }

        /// One whole line on stdout (1) or stderr (2), unbuffered, so output interleaves in order.
        static func writeLine(_ fd: Int32, _ text: String) {
            let bytes = Array((text + "\n").utf8)
            var offset = 0
            while offset < bytes.count {
                let n = bytes[offset...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
                if n < 0 { if errno == EINTR { continue }; return }
                offset += n
            }
        }

        func execute() -> Int32 {
            // Arguments first, then the lock, before anything is loaded or touched.
            let yieldSeconds: Double
            let stopSeconds: Double?
            let rate: Double?
            let sizeLimit: Int64?
            do {
                yieldSeconds = try DurationText.parse(yieldAfter, option: "--yield-after")
                stopSeconds = try stopAfter.map { text throws(CheckError) in try DurationText.parse(text, option: "--stop-after") }
                rate = try maxRate.map { try Self.parseBytes($0, option: "--max-rate") }
                sizeLimit = try maxFileSize.map { try Self.parseBytes($0, option: "--max-file-size") }.map { Int64($0) }
            } catch {
                complain("\(error)")
                return 64
            }
            let layout: PipelineLayout
            let queues: [QueueDefinition]
            do {
                layout = try common.layout()
                queues = try common.selectedQueues(layout)
            } catch {
                complain("\(error)")
                return Exit.failed
            }
            let held: RescanLock
            do {
                held = try RescanLock.acquire(lock)
            } catch {
                if error.code == .lockHeld {
                    if !cron { complain(error.message) }
                    return Exit.lockHeld
                }
                complain(error.message)
                return Exit.failed
            }
            defer { withExtendedLifetime(held) {} }

            signal(SIGTERM) { _ in rescanStopRequested.store(true, ordering: .relaxed) }
            signal(SIGINT) { _ in rescanStopRequested.store(true, ordering: .relaxed) }
            // A parent may have started us with these blocked (posix_spawn keeps the mask): unblock them.
            var stopSignals = sigset_t()
            sigemptyset(&stopSignals)
            sigaddset(&stopSignals, SIGTERM)
            sigaddset(&stopSignals, SIGINT)
            pthread_sigmask(SIG_UNBLOCK, &stopSignals, nil)

            var endpoints: [ClamdEndpoint] = []
            // One clamd: the pool of the check modes is refused here (ClamdPool.single).
            var given = common.socket.map { ClamdEndpoint.unix(path: $0) }
            do {
                for text in common.tcp { given.append(try ClamdPool.tcpEndpoint(text)) }
            } catch {
                complain("--tcp: \(error.message)")
                return 64
            }
            do {
                endpoints.append(try ClamdPool(given.isEmpty ? [.unix(path: ClamdDefaults.socket)] : given).single(for: "rescan-clean"))
            } catch {
                complain(error.message)
                return 64
            }
            let scanner: any FileScanner
            let version: DatabaseVersion
            do {
                var limits = ScanLimits.default
                if let sizeLimit { limits.maxFileSize = sizeLimit }
                scanner = try ScannerFactory.make(choice: engine, endpoints: endpoints,
                                                  databaseDirectory: common.databaseDir, limits: limits,
                                                  scanTimeout: .seconds(scanTimeout), processes: jobCount,
                                                  notes: { if common.verbose > 0 { say("note: \($0)") } })
                version = try scanner.databaseVersion(databaseDirectory: common.databaseDir)
            } catch {
                complain("\(error)")
                return Exit.failed
            }
            let probe: (@Sendable () -> DatabaseVersion?)?
            if scanner.databasesCanChange {
                let directory = common.databaseDir
                probe = { try? scanner.databaseVersion(databaseDirectory: directory) }
            } else {
                probe = nil
            }
            var configuration = RescanConfiguration(
                trees: queues.map { RescanTree(queue: $0.name, clean: $0.clean, infected: $0.infected) },
                incomingQueues: layout.queues, statePath: stateFile ?? layout.rescanStatePath,
                journalPath: layout.journalPath, auditJournalPath: auditJournal,
                jobs: jobCount, yieldAfter: yieldSeconds,
                yieldCheckInterval: yieldCheckInterval, maxRate: rate, reportOnly: reportOnly,
                durableInterval: durableInterval, stopAfter: stopSeconds, newPass: newPass, ageSource: layout.ageSource,
                syslog: !noSyslog)
            configuration.pipeline = layout.pipelineIdentity
            configuration.stormLimit = (try? storm.limit()) ?? StormBreaker.defaultLimit
            // Under --cron the engine line is left out: cron mails any output, and an hourly run that
            // finds the pass complete should say nothing.
            if !cron {
                say("rescan-clean: \(scanner.summary); databases \(version); \(configuration.jobs) jobs; trees \(configuration.trees.map(\.clean).joined(separator: ", "))")
            }
            let rescanner = Rescanner(
                configuration: configuration, scanner: scanner, version: version, versionProbe: probe,
                shouldStop: { rescanStopRequested.load(ordering: .relaxed) },
                events: { event in if let line = Self.render(event) { Self.writeLine(1, line) } })
            let summary: RescanSummary
            do {
                summary = try rescanner.run()
            } catch {
                complain(error.message)
                return Exit.failed
            }
            let p = summary.progress
            let heldCount = summary.held.values.reduce(0, +)
            let speed = summary.seconds > 0 ? Double(summary.bytesScanned) / summary.seconds : 0
            let run = "this run: \(summary.filesScanned) files, \(ByteText.format(Double(summary.bytesScanned))) in \(DurationText.format(summary.seconds)) (\(ByteText.format(speed))/s), \(summary.detections) infected\(heldCount > 0 ? " (\(heldCount) held)" : ""), \(summary.errors) errors, yielded \(DurationText.format(summary.yieldedSeconds))"
            let pass = "pass: \(p.filesDone)/\(p.filesTotal.map(String.init) ?? "?") files, \(p.detections) infected, \(p.errors) errors, \(p.skipped) skipped (not regular files)"
            let stormLines = summary.held.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.map { signature, count in
                "rescan-clean: storm: " + StormBreaker.advice(
                    signature: signature, held: count, matched: summary.matched[signature] ?? count, limit: configuration.stormLimit,
                    ignoreCommand: StormBreaker.ignoreCommand(signature: signature, options: common.ignoreOptions),
                    rerun: "run rescan-clean --new-pass --storm-limit 0 (this pass has gone past them)")
            }
            defer {
                for line in stormLines {
                    say(line)
                    if !noSyslog { Syslog.send(.error, line) }
                }
            }
            switch summary.outcome {
            case .alreadyComplete:
                if cron { return 0 }
                say("rescan-clean: the pass with these databases (\(version)) already completed \(p.lastCompletedAt.map { DurationText.format(max(0, WallClock.now() - $0)) + " ago" } ?? ""); nothing to do (--new-pass to rescan anyway)")
                return 0
            case .stopped(let reason):
                say("rescan-clean: stopped (\(reason)); the next run resumes. \(run); \(pass)")
                return heldCount > 0 ? Exit.held : Exit.stopped
            case .completed:
                say("rescan-clean: pass completed in \(DurationText.format(p.lastCompletedDuration ?? summary.seconds)). \(run); \(pass)")
                if heldCount > 0 { return Exit.held }
                if summary.detections > 0 { return Exit.detections }
                if summary.errors > 0 { return Exit.errors }
                return 0
            }
        }

        static func render(_ event: RescanEvent) -> String? {
            switch event {
            case .passStarted(let reason, _, let files, let bytes):
                return "new pass (\(reason)): \(files) files, \(ByteText.format(Double(bytes)))"
            case .passResumed(_, let done, let total):
                return "resuming the pass: \(done)/\(total.map(String.init) ?? "?") files done"
            case .treeStarted(let tree):
                return "tree \(tree.clean) (queue \(tree.queue))"
            case .yielding(let queue, let files, let age):
                return "yielding: queue \(queue) has \(files) files waiting longer than allowed (oldest \(DurationText.format(age)))"
            case .yieldEnded(let seconds):
                return "backlog cleared after \(DurationText.format(seconds)): resuming"
            case .detection(let queue, let path, let signature, let outcome):
                return "INFECTED \(queue): \(path): \(signature): \(outcome)"
            case .scanError(let queue, let path, let message):
                return "ERROR \(queue): \(path): \(message)"
            case .skipped(let queue, let path, let kind):
                return "skipped \(queue): \(path): \(kind.rawValue), not a regular file"
            case .unreadableDirectory(let queue, let path, let errno):
                return "ERROR \(queue): cannot read directory \(path): \(String(cString: strerror(errno)))"
            case .versionChanged(let from, let to):
                return "signature databases changed (\(from) → \(to)): starting a new pass"
            }
        }

        /// `1500`, `64k`, `10M`, `1G` (powers of 1024): 1 byte to 2^50 (BoundedNumber).
        static func parseBytes(_ text: String, option: String) throws(CheckError) -> Double {
            Double(try BoundedNumber.parseBytes(text, option: option, within: 1...BoundedNumber.maximumBytes))
        }
    }
}
