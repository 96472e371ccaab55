import Foundation
import ScanCore
import ScanCoreTestSupport
import Testing

@Suite("watch collector")
struct WatchCollectorTests {
    func value(_ families: [MetricFamily], _ name: String, queue: String) -> Double? {
        families.first { $0.name == name }?.samples.first { $0.label("queue") == queue }?.value
    }

    @Test("heartbeat files become per-queue metrics; stale or stopped is down; no file, no series")
    func families() async throws {
        let tree = try TemporaryTree(prefix: "wcl")
        let state = try tree.directory("state")
        let now = 1_800_000_000.0
        try WatchState(queue: "incoming", pid: 1, started: now - 100, heartbeat: now - 5, heartbeatInterval: 10, lastEvent: now - 7,
                       overflows: 2, sweeps: 3, lastSweep: now - 40, sweepFoundFiles: 4, watchFoundFiles: 50, watchedDirectories: 6,
                       unwatchedDirectories: 1).write(path: WatchState.path(stateDirectory: state, queue: "incoming"))
        try WatchState(queue: "draft-incoming", pid: 2, started: now - 900, heartbeat: now - 61, heartbeatInterval: 10)
            .write(path: WatchState.path(stateDirectory: state, queue: "draft-incoming"))
        let result = await WatchCollector(stateDirectory: state, queues: ["incoming", "draft-incoming", "other"]).collect(now: now)
        #expect(result.success)
        let f = result.families
        #expect(value(f, "virus_scan_watch_up", queue: "incoming") == 1)
        #expect(value(f, "virus_scan_watch_up", queue: "draft-incoming") == 0)  // 61 s > 60 s
        #expect(value(f, "virus_scan_watch_up", queue: "other") == nil)
        #expect(value(f, "virus_scan_watch_heartbeat_timestamp_seconds", queue: "incoming") == now - 5)
        #expect(value(f, "virus_scan_watch_last_event_timestamp_seconds", queue: "incoming") == now - 7)
        #expect(value(f, "virus_scan_watch_last_event_timestamp_seconds", queue: "draft-incoming") == nil)
        #expect(value(f, "virus_scan_watch_overflows_total", queue: "incoming") == 2)
        #expect(value(f, "virus_scan_watch_sweep_found_files_total", queue: "incoming") == 4)
        #expect(value(f, "virus_scan_watch_event_files_total", queue: "incoming") == 50)
        #expect(value(f, "virus_scan_watch_unwatched_directories", queue: "incoming") == 1)
        #expect(f.first { $0.name == "virus_scan_watch_overflows_total" }?.type == .counter)
        // Unparsable: the collector fails, naming the file.
        try Data("{".utf8).write(to: URL(fileURLWithPath: WatchState.path(stateDirectory: state, queue: "other")))
        let broken = await WatchCollector(stateDirectory: state, queues: ["other"]).collect(now: now)
        #expect(!broken.success)
        #expect(broken.problems.first?.contains("watch-other.json") == true)
        // None at all: nothing, and success.
        let none = await WatchCollector(stateDirectory: tree.path("nowhere"), queues: ["incoming"]).collect(now: now)
        #expect(none.success && none.families.isEmpty)
    }
}
