import Glibc
@testable import ScanCore
import ScanCoreTestSupport
import Testing

/// Drain with one system call made to fail (the seam's fault hook, debug builds): real files in a
/// temp dir, the real libclamav engine; only the injected call is fake. The file must stay queued,
/// byte-identical and in one place, and the report must say which call failed on which path and why.
@Suite("Drain under system-call faults")
struct DrainFaultTests {
    enum Path: String, CaseIterable, Sendable { case rename, link, copy }

    private func options(_ path: Path) -> SafeMover.Options {
        SafeMover.Options(simulateCrossDevice: path == .copy, simulateNoRenameNoReplace: path == .link)
    }

    @Test("an fsync of the destination directory fails with EIO: the move is undone, the file stays queued", arguments: Path.allCases)
    func destinationDirectorySyncFails(path: Path) throws {
        let f = try DrainFixture()
        let content = try f.cleanFile(Array("report.pdf".utf8))
        let clean = f.queue.clean
        // Only the clean tree's own directory (not the temp copy inside it, not other tests' trees).
        let fault = SystemFaults.inject(.fsync, errno: EIO, count: Int.max) { $0 == clean }
        defer { fault.remove() }
        let report = try QueueDrain(configuration: f.configuration(mover: options(path)), scanner: f.engine()).run(log: { _, _ in })
        #expect(fault.fired >= 1)

        let after = f.snapshot()
        #expect(after["incoming"] == [Array("report.pdf".utf8): Inventory.hash(content)])
        #expect(after["clean"]!.isEmpty)
        #expect(after["infected"]!.isEmpty)
        #expect(Inventory.others(f.tree.root).isEmpty)
        #expect(report.files.count == 1)
        let step = switch path {
        case .rename: "after the rename; the move was undone"
        case .link: "after the link; the link was removed"
        case .copy: "after placing the copy; the copy was removed"
        }
        #expect(report.files.first?.disposition == .kept(.failed("fsync \(clean): Input/output error (errno 5) \(step), the file stays queued")))
        #expect(!report.allResolved)  // drain exits 1 (attention): some files stayed queued
        #expect(report.kept.count == 1)
        #expect(f.listedPaths().isEmpty)
        let records = try f.journal()
        #expect(records.count == 1)
        #expect(records.first?.action == "kept")
        #expect(QueueDrain.summary(report).contains("1 left queued"))
    }

    @Test("a write of the cross-filesystem copy fails with ENOSPC: the file stays queued, no temp file left")
    func copyWriteFails() throws {
        let f = try DrainFixture()
        let content = try f.cleanFile(Array("big.odt".utf8), size: 200_000)
        // copy_file_range "cannot" (as across some filesystems), so the copy is read+write; the write fails.
        let cannotCopy = SystemFaults.inject(.copyFileRange, errno: EXDEV, count: 1, under: f.queue.clean)
        let full = SystemFaults.inject(.write, errno: ENOSPC, count: 1, under: f.queue.clean)
        defer { cannotCopy.remove(); full.remove() }
        let report = try QueueDrain(configuration: f.configuration(mover: options(.copy)), scanner: f.engine()).run(log: { _, _ in })
        #expect(cannotCopy.fired == 1)
        #expect(full.fired == 1)
        let after = f.snapshot()
        #expect(after["incoming"] == [Array("big.odt".utf8): Inventory.hash(content)])
        #expect(after["clean"]!.isEmpty)
        #expect(Inventory.others(f.tree.root).isEmpty)
        #expect(report.files.first?.disposition
                == .kept(.failed("copy to the destination filesystem failed: write: No space left on device (errno 28)")))
        #expect(!report.allResolved)
        let logged = report.files.first.map { "\($0.disposition)" } ?? ""
        #expect(logged.contains("No space left on device"))
    }

    @Test("the list file write fails with ENOSPC: the file is moved, the list error says why, the run is not resolved")
    func listWriteFails() throws {
        let f = try DrainFixture()
        try f.cleanFile(Array("a.txt".utf8))
        let full = SystemFaults.inject(.write, errno: ENOSPC, count: 1, under: f.tree.path("lists"))
        defer { full.remove() }
        let report = try QueueDrain(configuration: f.configuration(), scanner: f.engine()).run(log: { _, _ in })
        #expect(full.fired == 1)
        #expect(report.count("moved") == 1)
        #expect(report.listErrors.count == 1)
        let message = report.listErrors.first ?? ""
        #expect(message.hasPrefix("cannot write the list file \(f.listDirectory)/attachment_sync_list_"))
        #expect(message.contains(": write \(f.tree.path("lists"))/.virus_scan-list-tmp.incoming."))
        #expect(message.hasSuffix(": No space left on device (errno 28) (1 paths not listed)"))
        #expect(!report.allResolved)
        #expect(f.listedPaths().isEmpty)
        #expect(try FileOutput.list(f.tree.path("lists")) == ["attachments"])
    }

    @Test("the journal append fails with ENOSPC: the journal error says why and the run is not resolved")
    func journalWriteFails() throws {
        let f = try DrainFixture()
        try f.cleanFile(Array("j.txt".utf8))
        let full = SystemFaults.inject(.write, errno: ENOSPC, count: 1) { $0 == f.journalPath }
        defer { full.remove() }
        let report = try QueueDrain(configuration: f.configuration(), scanner: f.engine()).run(log: { _, _ in })
        #expect(full.fired == 1)
        #expect(report.count("moved") == 1)
        #expect(report.journalErrors == ["\(f.journalPath): No space left on device (errno 28)"])
        #expect(!report.allResolved)
        #expect(try f.journal().isEmpty)
    }
}
