@testable import ScanCore
import Testing

/// The rescan's checkpoint rule on its own: no threads, no state file.
@Suite("Completion watermark")
struct CompletionWatermarkTests {
    private func path(_ text: String) -> [UInt8] { Array(text.utf8) }
    private func texts(_ paths: [[UInt8]]) -> [String] { paths.map { String(decoding: $0, as: UTF8.self) } }

    @Test func checkpointMovesOnlyOverAFinishedPrefix() {
        var mark = CompletionWatermark()
        #expect(mark.checkpoint == nil)
        mark.complete(2, path: path("c"))
        mark.complete(1, path: path("b"))
        #expect(mark.checkpoint == nil)
        #expect(texts(mark.doneBeyond) == ["b", "c"])
        #expect(mark.unfinished(before: 3) == 3)
        mark.complete(0, path: path("a"))
        #expect(mark.checkpoint == path("c"))
        #expect(mark.doneBeyond.isEmpty)
        #expect(mark.unfinished(before: 3) == 0)
        mark.complete(4, path: path("e"))
        #expect(mark.checkpoint == path("c"))
        #expect(texts(mark.doneBeyond) == ["e"])
        #expect(mark.unfinished(before: 5) == 2)
    }

    @Test func aResumedTreeDropsCarriedPathsOnceThePrefixPassesThem() {
        // An earlier run stopped at "b" having also finished "d" and "f".
        var mark = CompletionWatermark(checkpoint: path("b"), doneBeyond: [path("f"), path("d")])
        #expect(mark.checkpoint == path("b"))
        #expect(texts(mark.doneBeyond) == ["d", "f"])
        // This run hands out "c" (0) and "e" (1); "d" and "f" are skipped by the walk.
        mark.complete(1, path: path("e"))
        #expect(texts(mark.doneBeyond) == ["d", "e", "f"])
        mark.complete(0, path: path("c"))
        #expect(mark.checkpoint == path("e"))
        #expect(texts(mark.doneBeyond) == ["f"])
    }

    @Test func doneBeyondIsInByteOrder() {
        var mark = CompletionWatermark()
        let names: [[UInt8]] = [[0x62, 0xFF], path("b/a"), path("B"), path("b"), path("a b")]
        for (index, name) in names.enumerated() { mark.complete(index + 1, path: name) }
        #expect(mark.doneBeyond == [path("B"), path("a b"), path("b"), path("b/a"), [0x62, 0xFF]])
        #expect(mark.doneBeyond == mark.doneBeyond.sorted(by: RescanPath.precedes))
    }
}
