/// The incoming queues a rescan makes way for: the pass yields while one of them has files that
/// waited longer than `yieldAfter` (the scanner must not fall behind because of a rescan).
struct IncomingBacklog: Sendable {
    /// The first queue found with old files.
    struct Backlog: Sendable, Equatable {
        var queue: String
        /// Files older than `yieldAfter`.
        var files: Int
        var oldestAge: Double
    }

    var queues: [QueueDefinition]
    var yieldAfter: Double
    var ageSource: AgeSource

    /// The first queue with files older than `yieldAfter` at `now`, if any (a queue that cannot be
    /// read does not hold the pass up).
    func oldest(now: Double) -> Backlog? {
        let options = SnapshotOptions(ageSource: ageSource, topN: 0, olderThan: [yieldAfter], threads: 1, sampleLimit: 0)
        for queue in queues {
            guard let snapshot = try? QueueSnapshot.take(queue, now: now, options: options) else { continue }
            if let old = snapshot.count(olderThan: yieldAfter), old > 0 {
                return Backlog(queue: queue.name, files: old, oldestAge: snapshot.oldestAge ?? 0)
            }
        }
        return nil
    }
}
