/// The `rescan` collector: progress of `rescan-clean` from its state file and lock.
///
/// - `virus_scan_rescan_running` (1 while the rescan lock is held)
/// - `virus_scan_rescan_started_timestamp_seconds`, `virus_scan_rescan_last_completed_timestamp_seconds`
/// - `virus_scan_rescan_files_done`, `virus_scan_rescan_files`, `virus_scan_rescan_bytes_done`, `virus_scan_rescan_bytes`
/// - `virus_scan_rescan_progress_ratio` (0–1), `virus_scan_rescan_errors`, `virus_scan_rescan_detections`,
///   `virus_scan_rescan_database_version`
///
/// No state file: only `virus_scan_rescan_running` (never rescanned yet is not a failure).
public struct RescanCollector: Collector {
    public let name = "rescan"
    public let statePath: String
    public let lockPath: String

    public init(statePath: String, lockPath: String) {
        self.statePath = statePath
        self.lockPath = lockPath
    }

    public func collect(now: Double) async -> CollectorResult {
        let statePath = self.statePath
        let lockPath = self.lockPath
        let (state, holders): (Result<RescanState?, PipelineError>, Result<[LockProbe.Holder]?, PipelineError>) = await runBlocking {
            let state: Result<RescanState?, PipelineError>
            do throws(PipelineError) { state = .success(try RescanState.load(path: statePath)) } catch { state = .failure(error) }
            let holders: Result<[LockProbe.Holder]?, PipelineError>
            do throws(PipelineError) { holders = .success(try LockProbe.holders(of: lockPath)) } catch { holders = .failure(error) }
            return (state, holders)
        }
        var problems: [String] = []
        var families: [MetricFamily] = []
        switch holders {
        case .success(let holders):
            families.append(.gauge("virus_scan_rescan_running", help: "1 while a rescan of the clean trees holds the rescan lock.", value: (holders ?? []).isEmpty ? 0 : 1))
        case .failure(let error):
            problems.append(error.description)
        }
        switch state {
        case .success(let state?):
            families += Self.families(state)
        case .success(nil):
            break
        case .failure(let error):
            problems.append(error.description)
        }
        return CollectorResult(families: families, success: problems.isEmpty, problems: problems)
    }

    public static func families(_ s: RescanState) -> [MetricFamily] {
        var f: [MetricFamily] = []
        if let started = s.started {
            f.append(.gauge("virus_scan_rescan_started_timestamp_seconds", help: "Unix time the current (or last) rescan pass started.", value: started))
        }
        if let done = s.lastCompletedAt {
            f.append(.gauge("virus_scan_rescan_last_completed_timestamp_seconds", help: "Unix time the last complete rescan pass finished.", value: done))
        }
        f.append(.gauge("virus_scan_rescan_files_done", help: "Files rescanned in the current pass.", value: Double(s.filesDone)))
        if let total = s.filesTotal {
            f.append(.gauge("virus_scan_rescan_files", help: "Files the current rescan pass covers (clean trees).", value: Double(total)))
        }
        f.append(.gauge("virus_scan_rescan_bytes_done", help: "Bytes rescanned in the current pass.", value: Double(s.bytesDone)))
        if let total = s.bytesTotal {
            f.append(.gauge("virus_scan_rescan_bytes", help: "Bytes the current rescan pass covers.", value: Double(total)))
        }
        if let progress = s.progress {
            f.append(.gauge("virus_scan_rescan_progress_ratio", help: "Done fraction of the current rescan pass (0–1; by bytes when known).", value: progress))
        }
        f.append(.gauge("virus_scan_rescan_errors", help: "Files the current rescan pass could not scan.", value: Double(s.errors)))
        f.append(.gauge("virus_scan_rescan_detections", help: "Infected files the current rescan pass found.", value: Double(s.detections)))
        if let v = s.databaseVersion {
            f.append(.gauge("virus_scan_rescan_database_version", help: "Daily database version the rescan pass runs with.", value: Double(v)))
        }
        return f
    }
}
