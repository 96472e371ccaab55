/// The checkpoint of a pass over one tree, as a pure value (no threads, no files).
///
/// Files are numbered in walk order as they are handed out and finish in any order. The
/// checkpoint is the path of the last file of the longest prefix of numbers that all finished;
/// the files finished beyond it are listed (``doneBeyond``), so a run killed at any instant
/// repeats none of them and rescans only the ones that were in flight. A resumed pass starts from
/// the state file's checkpoint and list (`carried`): those paths drop off the list once the
/// checkpoint passes them.
struct CompletionWatermark: Sendable, Equatable {
    /// The last path of the finished prefix; nil before the first file of a fresh tree finished.
    private(set) var checkpoint: [UInt8]?
    /// The number of the first file not yet finished.
    private(set) var nextExpected = 0
    /// Finished files beyond the prefix, by number.
    private var pending: [Int: [UInt8]] = [:]
    /// Paths finished beyond the checkpoint by an earlier run (from the state file).
    private var carried: [[UInt8]]

    /// A pass over a tree that resumes at `checkpoint` with `doneBeyond` already done (both empty
    /// for a fresh tree).
    init(checkpoint: [UInt8]? = nil, doneBeyond: [[UInt8]] = []) {
        self.checkpoint = checkpoint
        self.carried = doneBeyond
    }

    /// How many numbered files before `next` are not finished yet.
    func unfinished(before next: Int) -> Int { next - nextExpected }

    /// File `sequence`, at `path`, finished.
    mutating func complete(_ sequence: Int, path: [UInt8]) {
        pending[sequence] = path
        while let path = pending.removeValue(forKey: nextExpected) {
            checkpoint = path
            nextExpected += 1
        }
        if let checkpoint {
            carried.removeAll { !RescanPath.precedes(checkpoint, $0) }
        }
    }

    /// The paths finished beyond the checkpoint, in walk (byte) order.
    var doneBeyond: [[UInt8]] {
        (carried + pending.values).sorted(by: RescanPath.precedes)
    }
}
