/// The `watch` collector: the health of `drain --watch`, from each queue's heartbeat file
/// (``WatchState``, `<state dir>/watch-<queue>.json`). A watcher that silently stops watching (the
/// known failure of clamonacc) shows as `virus_scan_watch_up 0` and a stale heartbeat.
///
/// Per queue with a state file (label `queue`):
/// - `virus_scan_watch_up`: 1 while the watcher runs and its heartbeat is fresh (at most three
///   heartbeat intervals, at least a minute, old); 0 after a clean stop or when stale
/// - `virus_scan_watch_heartbeat_timestamp_seconds`, `virus_scan_watch_start_time_seconds`,
///   `virus_scan_watch_last_event_timestamp_seconds` (once an event was read),
///   `virus_scan_watch_last_sweep_timestamp_seconds`
/// - `virus_scan_watch_overflows_total` (kernel event queue overflows), `virus_scan_watch_sweeps_total`,
///   `virus_scan_watch_sweep_found_files_total` (files the sweeps scanned: there at start, or missed by
///   the watch), `virus_scan_watch_event_files_total` (files scanned on their events); these count
///   since the watcher started (`start_time`), as process counters do
/// - `virus_scan_watch_directories`, `virus_scan_watch_unwatched_directories`
///
/// No state file: nothing for that queue (no watcher configured is not a failure).
public struct WatchCollector: Collector {
    public let name = "watch"
    /// (queue name, state file path)
    public let states: [(queue: String, path: String)]

    public init(stateDirectory: String, queues: [String]) {
        self.states = queues.map { ($0, WatchState.path(stateDirectory: stateDirectory, queue: $0)) }
    }

    public func collect(now: Double) async -> CollectorResult {
        let states = self.states
        let loaded: [(String, Result<WatchState?, PipelineError>)] = await runBlocking {
            states.map { entry in
                do throws(PipelineError) { return (entry.queue, .success(try WatchState.load(path: entry.path))) } catch {
                    return (entry.queue, .failure(error))
                }
            }
        }
        var problems: [String] = []
        var present: [(String, WatchState)] = []
        for (queue, result) in loaded {
            switch result {
            case .success(let state?): present.append((queue, state))
            case .success(nil): break
            case .failure(let error): problems.append(error.description)
            }
        }
        return CollectorResult(families: present.isEmpty ? [] : Self.families(present, now: now), success: problems.isEmpty, problems: problems)
    }

    public static func families(_ states: [(queue: String, state: WatchState)], now: Double) -> [MetricFamily] {
        func gauge(_ name: String, _ help: String, _ value: (WatchState) -> Double?) -> MetricFamily? {
            let series = states.compactMap { entry in value(entry.state).map { ([Label("queue", entry.queue)], $0) } }
            return series.isEmpty ? nil : .gauge(name, help: help, series)
        }
        func counter(_ name: String, _ help: String, _ value: (WatchState) -> Int) -> MetricFamily {
            .counter(name, help: help, states.map { ([Label("queue", $0.queue)], Double(value($0.state))) })
        }
        return [
            gauge("virus_scan_watch_up", "1 while drain --watch runs for the queue and its heartbeat is fresh.") { $0.alive(now: now) ? 1 : 0 },
            gauge("virus_scan_watch_heartbeat_timestamp_seconds", "Unix time drain --watch last wrote its heartbeat.") { $0.heartbeat },
            gauge("virus_scan_watch_start_time_seconds", "Unix time the running (or last) drain --watch started.") { $0.started },
            gauge("virus_scan_watch_last_event_timestamp_seconds", "Unix time drain --watch last read an inotify event.") { $0.lastEvent },
            gauge("virus_scan_watch_last_sweep_timestamp_seconds", "Unix time drain --watch last finished a full sweep of the queue.") { $0.lastSweep },
            counter("virus_scan_watch_overflows_total", "Times the kernel's inotify event queue overflowed (events lost; a sweep followed).") { $0.overflows },
            counter("virus_scan_watch_sweeps_total", "Full sweeps of the queue by drain --watch.") { $0.sweeps },
            counter("virus_scan_watch_sweep_found_files_total", "Files the sweeps scanned: queued before the watcher started, or missed by the watch.") { $0.sweepFoundFiles },
            counter("virus_scan_watch_event_files_total", "Files drain --watch scanned when their events said they were complete.") { $0.watchFoundFiles },
            gauge("virus_scan_watch_directories", "Directories of the queue drain --watch has an inotify watch on.") { Double($0.watchedDirectories) },
            gauge("virus_scan_watch_unwatched_directories", "Directories drain --watch could not watch (watch limit, permissions): only the sweep covers them.") { Double($0.unwatchedDirectories) },
        ].compactMap { $0 }
    }
}
