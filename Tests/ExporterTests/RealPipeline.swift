import ArgumentParser
import Foundation
import Logging
import ScanCore
import ScanCoreTestSupport

@testable import exporter

/// A real pipeline for end-to-end tests: a tree with a backlog and processed files, a real clamd
/// (ScanCoreTestSupport's `ClamdProcess`) loading a `daily.cud` container, and the exporter's
/// collectors built by its own command-line wiring (`PipelineOptions.makeCollectors`).
final class RealPipeline: @unchecked Sendable {
    static let dailyVersion = 27400
    static let dailyBuilt: Int64 = DatabaseContainer.defaultTimestamp

    let tree: PipelineTree
    let clamd: ClamdProcess
    let databaseDirectory: String
    let collectors: [any Collector]

    init(countSince: Double = WallClock.now() - 2) throws {
        tree = try PipelineTree()
        let plain = tree.root + "/plain-db"
        try FileManager.default.createDirectory(atPath: plain, withIntermediateDirectories: true)
        try SignatureFixtures.writeSmall(to: plain)
        clamd = try ClamdProcess(.init()) { dir in
            try DatabaseContainer.write(from: plain, to: dir + "/daily.cud", version: RealPipeline.dailyVersion)
        }
        databaseDirectory = clamd.directory + "/db"
        let command = try Exporter.parse([
            "--root", tree.root, "--state-dir", tree.root + "/state", "--socket", clamd.socketPath,
            "--database-dir", databaseDirectory, "--lock", tree.root + "/rescan.lock",
        ])
        collectors = try command.pipeline.makeCollectors(now: countSince)
        // Backlog: three files in incoming, one in draft-incoming.
        try tree.file("incoming/2026/a.pdf", size: 1000, age: 30)
        try tree.file("incoming/2026/b.pdf", size: 2000, age: 700)
        try tree.file("incoming/c.doc", size: 500, age: 1500)
        try tree.file("draft-incoming/d.pdf", size: 42, age: 90)
        // Processed since the exporter started: two clean, one infected.
        try tree.file("incoming/p1.pdf", size: 1, age: 100)
        try tree.file("incoming/p2.pdf", size: 1, age: 2000)
        try tree.file("incoming/v.exe", size: 1, age: 10)
        try tree.move("incoming/p1.pdf", to: "clean/p1.pdf")
        try tree.move("incoming/p2.pdf", to: "clean/x/p2.pdf")
        try tree.move("incoming/v.exe", to: "infected/v.exe")
        // A rescan pass a quarter done, the previous one completed a day ago (the rescan state file).
        let now = WallClock.now()
        try FileManager.default.createDirectory(atPath: tree.root + "/state", withIntermediateDirectories: true)
        try Data("""
            {"started": \(now - 600), "databaseVersion": \(RealPipeline.dailyVersion), "filesDone": 50, "filesTotal": 200, \
            "bytesDone": 5000, "bytesTotal": 20000, "errors": 0, "detections": 1, "lastCompletedAt": \(now - 86400)}
            """.utf8).write(to: URL(fileURLWithPath: tree.root + "/state/rescan-state.json"))
        // A drain --watch of incoming, alive (its heartbeat file).
        try WatchState(queue: "incoming", pid: 4242, started: now - 3600, heartbeat: now - 3, heartbeatInterval: 10,
                       lastEvent: now - 5, overflows: 1, sweeps: 60, lastSweep: now - 30, sweepFoundFiles: 2, watchFoundFiles: 40,
                       watchedDirectories: 12, engine: "libclamav").write(path: WatchState.path(stateDirectory: tree.root + "/state", queue: "incoming"))
    }

    var configuration: ExporterConfiguration {
        var config = ExporterConfiguration()
        // These tests check what is served, not the deadlines (AbuseTests do): on a loaded CI machine a
        // keep-alive client can pause over 5 s between requests, and a walk can take over 8 s.
        config.headerTimeout = .seconds(120)
        config.scrapeTimeout = .seconds(120)
        config.collectors = collectors
        return config
    }
}

enum RealScrape {
    /// `/metrics` of the exporter over a real pipeline, fetched over a loopback socket.
    static func text() async throws -> String {
        let pipeline = try RealPipeline()
        return try await withRunningExporter(pipeline.configuration) { port in
            let response = try await httpGet(port: port, "/metrics")
            return response.text
        }
    }
}
