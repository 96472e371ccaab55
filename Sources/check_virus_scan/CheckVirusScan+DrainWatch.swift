import ArgumentParser
import ScanCore
import ScanCoreCLI

#if canImport(Glibc)
import Glibc
#endif

extension CheckVirusScan.Drain {
    /// `drain --watch`: runs ``QueueWatcher`` on the one queue until SIGTERM/SIGINT.
    func runWatch(layout: PipelineLayout, queues: [QueueDefinition], scanner: any FileScanner, minimumAge: Double,
                  maximumSize: Int64, mover: SafeMover.Options, clamdLimit: Int64?, stormLimit: Int) throws {
        let queue = queues[0]
        let settleSeconds: Double, sweepSeconds: Double, heartbeatSeconds: Double
        do {
            settleSeconds = try parseSeconds(settle, option: "--settle")
            sweepSeconds = try parseSeconds(sweepInterval, option: "--sweep-interval")
            heartbeatSeconds = try parseSeconds(heartbeatInterval, option: "--heartbeat-interval")
        } catch {
            throw ValidationError("\(error)")
        }
        let stopFD = StopSignal.install([SIGTERM, SIGINT])
        var drain = QueueDrain.Configuration(
            queue: queue, minimumAge: minimumAge, maximumSize: maximumSize, jobs: engineOptions.jobCount,
            lockPath: nil, listDirectory: listDir ?? layout.listDirectory, journalPath: layout.journalPath,
            ageSource: layout.ageSource, mover: mover)
        drain.clamdLimit = clamdLimit
        drain.pipeline = layout.pipelineIdentity
        drain.stormLimit = stormLimit
        drain.ignoreOptions = engineOptions.ignoreOptions
        let configuration = QueueWatcher.Configuration(
            drain: drain, lockPath: lock ?? queue.lock,
            statePath: WatchState.path(stateDirectory: layout.stateDirectory, queue: queue.name),
            settle: settleSeconds, sweepInterval: sweepSeconds, heartbeatInterval: heartbeatSeconds,
            dropEvents: dropEvents, stopDescriptor: stopFD)
        let verbose = self.verbose
        let ignoreOptions = engineOptions.ignoreOptions
        do {
            try QueueWatcher(configuration: configuration, scanner: scanner).run(report: { report, pass in
                let text = Self.render(report, verbose: verbose, cron: true, ignoreOptions: ignoreOptions)
                if !text.isEmpty {
                    print((pass.isSweep ? "\(pass.rawValue): " : "") + text, terminator: "")
                    fflush(nil)
                }
            })
        } catch let error as RemediationError where error.code == .lockHeld {
            standardError("drain --watch \(queue.name): \(error.message)")
            throw ExitCode(RemediationExit.lockHeld)
        } catch {
            standardError("drain --watch \(queue.name): \(error)")
            throw ExitCode(RemediationExit.failed)
        }
    }
}
