import Foundation
import ScanCore
import ScanCoreTestSupport
import Testing

/// The probe stage: several probes over one ``PipelineReadings`` read each thing once, and one
/// failing probe does not stop the others where the caller asks for each part's result.
@Suite struct ProbeTests {
    static let now = 1_800_000_000.0

    /// A standard tree with two files waiting in incoming (10 and 20 minutes old).
    static func tree() throws -> TemporaryTree {
        let tree = try TemporaryTree()
        for directory in ["incoming", "clean", "infected", "draft-incoming", "draft-clean", "draft-infected", "state"] {
            _ = try tree.directory(directory)
        }
        _ = try tree.file("incoming/a.pdf", size: 1, mtime: now - 600)
        _ = try tree.file("incoming/b.pdf", size: 1, mtime: now - 1200)
        return tree
    }

    final class Counts: @unchecked Sendable {
        var layouts = 0
        var phases: [String] = []
    }

    static func readings(_ tree: TemporaryTree, _ counts: Counts) -> PipelineReadings {
        var layout = PipelineLayout.standard(root: tree.root)
        layout.stateDirectory = tree.path("state")
        return PipelineReadings(now: now, databaseDirectory: tree.path("no-database"),
                                layout: { counts.layouts += 1; return layout }, queues: { $0.queues },
                                clamd: { throw ClamdError(.invalidEndpoint, "no clamd in this test") },
                                phase: { counts.phases.append($0) })
    }

    static var queueProbes: [CheckProbe] { [
        CheckProbe.backlog(thresholds: try! Thresholds(warning: "1", critical: "5", unit: .plain), topN: 0),
        CheckProbe.age(thresholds: try! Thresholds(warning: "900", critical: "3600", unit: .seconds), topN: 0),
        CheckProbe.wait(window: 600, percentile: 90, thresholds: .none, topN: 0),
        CheckProbe.stuck(window: 1800, topN: 0),
        CheckProbe.infected(window: 86400, thresholds: .none, topN: 0),
    ] }

    @Test func fiveQueueProbesWalkEachQueueAndReadTheJournalOnce() throws {
        let tree = try Self.tree()
        let counts = Counts()
        let parts = try Self.readings(tree, counts).run(Self.queueProbes)
        #expect(parts.map(\.mode) == ["backlog", "age", "wait", "stuck", "infected"])
        #expect(parts.map(\.report.state) == [.warning, .warning, .ok, .ok, .ok])
        #expect(counts.layouts == 1)
        #expect(counts.phases.filter { $0.hasPrefix("reading queue ") } == [
            "reading queue incoming (\(tree.path("incoming")))", "reading queue draft-incoming (\(tree.path("draft-incoming")))",
        ])
        #expect(counts.phases.filter { $0.hasPrefix("reading the scan journal") }.count == 1)
        // The outcome trees once each, for the longest window (infected's 24 h).
        #expect(counts.phases.filter { $0.hasPrefix("reading the clean tree of queue incoming") }.count == 1)
    }

    @Test func eachProbeAloneReadsForItsOwnWindow() throws {
        let tree = try Self.tree()
        let counts = Counts()
        let readings = Self.readings(tree, counts)
        let wait = try readings.run(CheckProbe.wait(window: 600, percentile: 90, thresholds: .none, topN: 0))
        let infected = try readings.run(CheckProbe.infected(window: 86400, thresholds: .none, topN: 0))
        #expect(wait.state == .ok && infected.state == .ok)
        // Two reads of the history: one probe, one read, each of its own window and outcomes.
        #expect(counts.phases.filter { $0.hasPrefix("reading the scan journal") }.count == 2)
        #expect(counts.phases.filter { $0.hasPrefix("reading the infected tree of queue incoming") }.count == 2)
        #expect(counts.phases.filter { $0.hasPrefix("reading the clean tree of queue incoming") }.count == 1)
    }

    @Test func aFailingProbeStopsRunButNotRunEach() throws {
        let tree = try Self.tree()
        let probes: [CheckProbe] = [CheckProbe.backlog(thresholds: .none, topN: 0), CheckProbe.eicar(), CheckProbe.age(thresholds: .none, topN: 0)]
        #expect(throws: ClamdError.self) { try Self.readings(tree, Counts()).run(probes) }
        let each = Self.readings(tree, Counts()).runEach(probes)
        #expect(each.map(\.mode) == ["backlog", "probe", "age"])
        #expect((try? each[0].result.get())?.state == .ok)
        guard case .failure(let error as ClamdError) = each[1].result else {
            Issue.record("the probe without clamd did not fail: \(each[1])")
            return
        }
        #expect(error.message == "no clamd in this test")
        #expect((try? each[2].result.get())?.state == .ok)
    }
}
