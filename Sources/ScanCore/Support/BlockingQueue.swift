/// A blocking FIFO for worker threads: `pop` waits for an item and returns nil once the queue is
/// closed and empty.
final class BlockingQueue<Item: Sendable>: Sendable {
    private struct Contents {
        var items: [Item] = []
        var head = 0
        var closed = false
        var waiting: Int { items.count - head }
    }

    private let contents = ConditionLock(Contents())

    init() {}

    func push(_ item: Item) {
        contents.withLock(notify: true) { $0.items.append(item) }
    }

    /// No more items; with `discardingWaiting`, the items not yet taken are dropped.
    func close(discardingWaiting: Bool = false) {
        contents.withLock(notify: true) { contents in
            contents.closed = true
            if discardingWaiting {
                contents.items.removeAll()
                contents.head = 0
            }
        }
    }

    /// Blocks while `limit` or more items wait to be taken.
    func waitUntilWaiting(fewerThan limit: Int) {
        contents.wait { $0.waiting >= limit && !$0.closed }
    }

    func pop() -> Item? {
        // A producer may wait for room: every pop notifies.
        contents.withLock(waitingWhile: { $0.waiting == 0 && !$0.closed }, notify: true) { contents in
            guard contents.head < contents.items.count else { return nil }
            let item = contents.items[contents.head]
            contents.head += 1
            if contents.head > 1024 && contents.head * 2 > contents.items.count {
                contents.items.removeFirst(contents.head)
                contents.head = 0
            }
            return item
        }
    }
}
