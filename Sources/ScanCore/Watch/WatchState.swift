import Foundation

/// The heartbeat file `drain --watch` keeps in the state directory, one per queue
/// (`<state dir>/watch-<queue>.json`), read by the exporter and the `stuck` check: a watcher that
/// silently stops watching (clamonacc's known failure) shows as a stale heartbeat.
///
/// JSON, times in epoch seconds; replaced atomically (temp file, rename) every heartbeat interval,
/// after every sweep and on exit (`running` false after a clean stop):
///
/// ```json
/// {"queue": "incoming", "pid": 4242, "started": 1795600000.1, "heartbeat": 1795600600.2,
///  "heartbeatInterval": 10, "running": true, "lastEvent": 1795600598.7, "overflows": 0,
///  "sweeps": 11, "lastSweep": 1795600560.0, "sweepFoundFiles": 0, "watchFoundFiles": 812,
///  "watchedDirectories": 1204, "unwatchedDirectories": 0, "engine": "libclamav"}
/// ```
public struct WatchState: JSONStateFile, Sendable, Hashable {
    public static let kind = "watch state"

    public var queue: String
    public var pid: Int32
    public var started: Double
    /// When this file was last written by the watcher.
    public var heartbeat: Double
    /// How often the watcher writes it (a reader calls it stale after ``staleAfter``).
    public var heartbeatInterval: Double
    /// False once the watcher stopped cleanly (SIGTERM, SIGINT).
    public var running: Bool
    /// The last inotify event read (nil before the first).
    public var lastEvent: Double?
    /// Times the kernel's event queue overflowed (events lost; a sweep followed).
    public var overflows: Int
    public var sweeps: Int
    public var lastSweep: Double?
    /// Files the sweeps scanned: present at start, or missed by the watch.
    public var sweepFoundFiles: Int
    /// Files scanned because their events said they were complete.
    public var watchFoundFiles: Int
    public var watchedDirectories: Int
    /// Directories that could not be watched (inotify watch limit, permissions): only the sweep covers them.
    public var unwatchedDirectories: Int
    public var engine: String?

    public init(queue: String, pid: Int32, started: Double, heartbeat: Double, heartbeatInterval: Double, running: Bool = true,
                lastEvent: Double? = nil, overflows: Int = 0, sweeps: Int = 0, lastSweep: Double? = nil, sweepFoundFiles: Int = 0,
                watchFoundFiles: Int = 0, watchedDirectories: Int = 0, unwatchedDirectories: Int = 0, engine: String? = nil) {
        self.queue = queue
        self.pid = pid
        self.started = started
        self.heartbeat = heartbeat
        self.heartbeatInterval = heartbeatInterval
        self.running = running
        self.lastEvent = lastEvent
        self.overflows = overflows
        self.sweeps = sweeps
        self.lastSweep = lastSweep
        self.sweepFoundFiles = sweepFoundFiles
        self.watchFoundFiles = watchFoundFiles
        self.watchedDirectories = watchedDirectories
        self.unwatchedDirectories = unwatchedDirectories
        self.engine = engine
    }

    /// Seconds after which a running watcher's heartbeat is stale: three intervals, at least a minute.
    public var staleAfter: Double { max(60, 3 * heartbeatInterval) }

    /// Whether the watcher was alive at `now`: running and its heartbeat fresh.
    public func alive(now: Double) -> Bool { running && now - heartbeat <= staleAfter }

    /// The file for `queue` in `stateDirectory` (queue names are reduced to `[A-Za-z0-9._-]`).
    public static func path(stateDirectory: String, queue: String) -> String {
        let safe = String(queue.map { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "." || $0 == "_" || $0 == "-") ? $0 : "_" })
        return stateDirectory + "/watch-" + safe + ".json"
    }

    /// Replaces the file atomically (temp file in the same directory, rename).
    public func write(path: String) throws(Errno) {
        let data = json() + [UInt8(ascii: "\n")]
        let temp = path + ".tmp"
        try SystemError.errnoOnly { () throws(SystemError) in
            try AtomicFile.write(data, to: path, options: AtomicFile.Options(temporaryPath: temp, durable: false))
        }
    }
}
