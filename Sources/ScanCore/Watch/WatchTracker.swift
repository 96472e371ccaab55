/// What the queue watcher knows between events: which watch is which directory of the queue, and
/// which files have had events and when. Pure (events and the time in, decisions out), so the
/// readiness rules are unit-tested without a kernel.
///
/// A file becomes ready once it has been quiet (no event) for the settle time and either its
/// writer closed it (`IN_CLOSE_WRITE`), it was renamed into the queue (`IN_MOVED_TO`), or it was
/// found by listing a directory that appeared (its events came before the watch); the watcher
/// confirms the last two have no writer left (a read lease) before scanning.
public struct WatchTracker: Sendable {
    public struct Pending: Sendable, Hashable {
        /// Time of the last event for it.
        public var lastEvent: Double
        /// Closed after writing, or renamed in: complete as far as the events tell.
        public var closed: Bool
        /// Found by listing a new directory, not by an event.
        public var discovered: Bool
        /// Not to be looked at again before this time (a writer still had it open).
        public var notBefore: Double = 0
    }

    /// What the caller must do after an event.
    public enum Action: Sendable, Hashable {
        /// A directory appeared (created or renamed in): watch it and its subdirectories, and list
        /// the files already in them (``discovered(_:now:)``).
        case newDirectory([UInt8])
        /// A directory left (renamed away): stop watching it and everything beneath.
        case directoryGone([UInt8])
        /// The kernel dropped events: sweep the queue.
        case overflow
        /// The queue directory itself was deleted, moved or unmounted: the watch is void.
        case rootGone
    }

    /// watch descriptor → directory, relative to the queue ([] is the queue itself).
    public private(set) var directories: [Int32: [UInt8]] = [:]
    public private(set) var pending: [[UInt8]: Pending] = [:]
    /// The watch on the queue directory.
    public private(set) var rootWatch: Int32?

    public init() {}

    public mutating func watching(_ watch: Int32, directory: [UInt8]) {
        directories[watch] = directory
        if directory.isEmpty { rootWatch = watch }
    }

    public mutating func unwatched(_ watch: Int32) {
        directories[watch] = nil
    }

    /// The watches on `directory` and everything beneath it.
    public func watches(under directory: [UInt8]) -> [Int32] {
        directories.filter { Self.isWithin($0.value, directory) }.map(\.key)
    }

    public static func join(_ directory: [UInt8], _ name: [UInt8]) -> [UInt8] {
        directory.isEmpty ? name : directory + [UInt8(ascii: "/")] + name
    }

    static func isWithin(_ path: [UInt8], _ directory: [UInt8]) -> Bool {
        path == directory || (path.count > directory.count && path.starts(with: directory) && path[directory.count] == UInt8(ascii: "/"))
    }

    public mutating func apply(_ event: InotifyEvent, now: Double) -> Action? {
        let mask = event.mask
        if mask.contains(.queueOverflow) { return .overflow }
        guard let directory = directories[event.watch] else { return nil }
        if mask.contains(.ignored) {
            directories[event.watch] = nil
            return event.watch == rootWatch ? .rootGone : nil
        }
        if event.watch == rootWatch && !mask.isDisjoint(with: [.deleteSelf, .moveSelf, .unmount]) { return .rootGone }
        guard !event.name.isEmpty else { return nil }
        let path = Self.join(directory, event.name)
        if mask.contains(.isDirectory) {
            if !mask.isDisjoint(with: [.create, .movedTo]) { return .newDirectory(path) }
            if !mask.isDisjoint(with: [.movedFrom, .delete]) {
                pending = pending.filter { !Self.isWithin($0.key, path) }
                return .directoryGone(path)
            }
            return nil
        }
        if !mask.isDisjoint(with: [.delete, .movedFrom]) {
            pending[path] = nil
        } else if !mask.isDisjoint(with: [.closeWrite, .movedTo]) {
            pending[path] = Pending(lastEvent: now, closed: true, discovered: false)
        } else if !mask.isDisjoint(with: [.create, .modify]) {
            pending[path] = Pending(lastEvent: now, closed: false, discovered: false)
        } else if mask.contains(.attrib), pending[path] != nil {
            pending[path]!.lastEvent = now
        }
        return nil
    }

    /// A file found by listing a directory that just appeared.
    public mutating func discovered(_ path: [UInt8], now: Double) {
        if pending[path] == nil { pending[path] = Pending(lastEvent: now, closed: false, discovered: true) }
    }

    /// Files quiet for `settle` seconds that are closed or were discovered, oldest event first.
    public func ready(now: Double, settle: Double) -> [[UInt8]] {
        pending.filter { $0.value.lastEvent + settle <= now && now >= $0.value.notBefore && ($0.value.closed || $0.value.discovered) }
            .sorted { $0.value.lastEvent != $1.value.lastEvent ? $0.value.lastEvent < $1.value.lastEvent : $0.key.lexicographicallyPrecedes($1.key) }
            .map(\.key)
    }

    /// The earliest time a pending file may become ready (for the poll timeout); nil when none can.
    public func nextDeadline(settle: Double) -> Double? {
        pending.values.filter { $0.closed || $0.discovered }.map { max($0.lastEvent + settle, $0.notBefore) }.min()
    }

    /// Hands files over for scanning: they are no longer pending (new events bring them back).
    public mutating func take(_ paths: [[UInt8]]) {
        for path in paths { pending[path] = nil }
    }

    /// A writer still has it open: wait for its close (events), or look again at `retryAt`.
    public mutating func stillOpen(_ path: [UInt8], retryAt: Double) {
        guard pending[path] != nil else { return }
        pending[path]!.closed = false
        pending[path]!.notBefore = retryAt
    }

    /// The files the sweep should leave to the watch: about to be ready (closed or discovered), or
    /// written to within the last `recent` seconds. A file whose writer went quiet without closing
    /// it longer ago than that is the sweep's again (by drain's `--min-age` rule).
    public func inFlight(now: Double, recent: Double) -> Set<[UInt8]> {
        Set(pending.filter { $0.value.closed || $0.value.discovered || now - $0.value.lastEvent < recent }.keys)
    }
}
