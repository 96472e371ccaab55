/// The outcome of one entry, as the progress counts it.
struct FileResult: Sendable {
    enum Kind: Sendable {
        case clean
        case infected(moved: Bool)
        case error
        case skipped(EntryKind)
        /// Gone before it could be opened: not counted.
        case vanished
    }

    var path: [UInt8]
    var kind: Kind
    var size: Int64 = 0
    /// Held by the storm breaker: the signature and the distinct files it matched.
    var held: (signature: String, matched: Int)? = nil
}

extension RescanProgress {
    /// Counts one finished entry. Files that arrived after the first walk make the totals grow,
    /// so done never exceeds them (the state file's validation refuses done > total).
    mutating func count(_ result: FileResult) {
        switch result.kind {
        case .clean:
            filesDone += 1
            bytesDone += result.size
        case .infected:
            filesDone += 1
            bytesDone += result.size
            detections += 1
        case .error:
            filesDone += 1
            bytesDone += result.size
            errors += 1
        case .skipped:
            skipped += 1
        case .vanished:
            break
        }
        if let total = filesTotal, filesDone > total { filesTotal = filesDone }
        if let total = bytesTotal, bytesDone > total { bytesTotal = bytesDone }
    }
}

/// The rescan's progress shared by its threads, and the state file: every finished file is
/// counted at once and the tree's ``CompletionWatermark`` moves; each change is written to the
/// state file before the next file is counted (atomically; fsynced every `durableInterval`
/// seconds and at every milestone).
final class ProgressTracker: Sendable {
    private struct State {
        var progress: RescanProgress
        var tree = 0
        var watermark = CompletionWatermark()
        var lastDurable = MonotonicClock.now()
        var failure: RescanError?
    }

    private let state: ConditionLock<State>
    private let store: RescanStateStore
    private let durableInterval: Double
    private let clock: @Sendable () -> Double

    /// - Parameter clock: wall clock (epoch seconds) for the state file's times.
    init(progress: RescanProgress, store: RescanStateStore, durableInterval: Double,
         clock: @escaping @Sendable () -> Double = { WallClock.now() }) {
        state = ConditionLock(State(progress: progress))
        self.store = store
        self.durableInterval = durableInterval
        self.clock = clock
    }

    var failure: RescanError? { state.withLock { $0.failure } }

    func fail(_ error: RescanError) {
        state.withLock(notify: true) { if $0.failure == nil { $0.failure = error } }
    }

    /// Starts tree `index`; returns where a resumed pass left it.
    func beginTree(_ index: Int) -> (checkpoint: [UInt8]?, doneBeyond: [[UInt8]]) {
        state.withLock { state in
            state.tree = index
            let tree = state.progress.trees[index]
            state.watermark = CompletionWatermark(checkpoint: tree.checkpoint.flatMap(RescanPath.unescape),
                                                  doneBeyond: tree.doneBeyond.compactMap(RescanPath.unescape))
            return (state.watermark.checkpoint, state.watermark.doneBeyond)
        }
    }

    /// Blocks until fewer than `limit` numbered files are unfinished before `next`.
    func wait(untilInFlightBelow limit: Int, next: Int) {
        state.wait { $0.watermark.unfinished(before: next) >= limit && $0.failure == nil }
    }

    func complete(_ sequence: Int, result: FileResult) {
        state.withLock(notify: true) { state in
            state.progress.count(result)
            state.watermark.complete(sequence, path: result.path)
            var tree = state.progress.trees[state.tree]
            if case .infected = result.kind, tree.moving != nil {
                let shown = PathEscaping.display(result.path)
                tree.moving!.removeAll { $0.path == shown }
                if tree.moving!.isEmpty { tree.moving = nil }
            }
            tree.checkpoint = state.watermark.checkpoint.map { PathEscaping.display($0) }
            tree.doneBeyond = state.watermark.doneBeyond.map { PathEscaping.display($0) }
            state.progress.trees[state.tree] = tree
            save(&state)
        }
    }

    /// Records that an infected file is about to be moved (written before the move).
    func beginMove(_ file: RescanProgress.MovingFile) {
        state.withLock { state in
            state.progress.trees[state.tree].moving = (state.progress.trees[state.tree].moving ?? []) + [file]
            save(&state)
        }
    }

    /// Records that the journal has the moved file's record.
    func journaledMove(_ path: String) {
        state.withLock { state in
            guard var moving = state.progress.trees[state.tree].moving,
                let index = moving.firstIndex(where: { $0.path == path }) else { return }
            moving[index].journaled = true
            state.progress.trees[state.tree].moving = moving
            save(&state)
        }
    }

    /// A move a killed run left unfinished whose file has left the clean tree: counted as done now.
    func recoverMove(_ file: RescanProgress.MovingFile) {
        state.withLock { state in
            state.progress.filesDone += 1
            state.progress.bytesDone += file.size
            state.progress.detections += 1
            Self.removeMarker(file.path, from: &state)
            save(&state)
        }
    }

    /// Drops a marker whose file is still in the clean tree (it is scanned again).
    func dropMove(_ path: String) {
        state.withLock { state in
            Self.removeMarker(path, from: &state)
            save(&state)
        }
    }

    private static func removeMarker(_ path: String, from state: inout State) {
        state.progress.trees[state.tree].moving?.removeAll { $0.path == path }
        if state.progress.trees[state.tree].moving?.isEmpty == true { state.progress.trees[state.tree].moving = nil }
    }

    /// The markers of tree being walked.
    var movingFiles: [RescanProgress.MovingFile] { state.withLock { $0.progress.trees[$0.tree].moving ?? [] } }

    func countDirectoryError() {
        state.withLock { state in
            state.progress.errors += 1
            save(&state)
        }
    }

    func setYielding(since: Double?) {
        state.withLock(notify: true) { state in
            state.progress.yielding = since != nil
            state.progress.yieldingSince = since
            save(&state, forceDurable: true)
        }
    }

    /// Blocks a scanning thread while the pass yields.
    func waitWhileYielding() {
        state.wait { $0.progress.yielding && $0.failure == nil }
    }

    func endTree(_ index: Int) {
        state.withLock { state in
            state.progress.trees[index].done = true
            state.progress.trees[index].checkpoint = nil
            state.progress.trees[index].doneBeyond = []
            state.progress.trees[index].moving = nil
            save(&state, forceDurable: true)
        }
    }

    /// Writes the final state of this run.
    func finish(completed: Bool) throws(RescanError) -> RescanProgress {
        let result: (RescanProgress, RescanError?) = state.withLock { state in
            state.progress.yielding = false
            state.progress.yieldingSince = nil
            if completed {
                let now = clock()
                state.progress.completed = true
                state.progress.lastCompletedAt = now
                state.progress.lastCompletedDuration = state.progress.started.map { now - $0 }
            }
            save(&state, forceDurable: true)
            return (state.progress, state.failure)
        }
        if let failure = result.1 { throw failure }
        return result.0
    }

    private func save(_ state: inout State, forceDurable: Bool = false) {
        guard state.failure == nil else { return }
        let now = MonotonicClock.now()
        let durable = forceDurable || now - state.lastDurable >= durableInterval
        if durable { state.lastDurable = now }
        state.progress.updated = clock()
        do { try store.write(state.progress, durable: durable) } catch { state.failure = error }
    }
}
