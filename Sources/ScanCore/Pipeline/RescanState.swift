import Foundation

/// The progress file `rescan-clean` keeps up to date and the `rescan` check mode and the
/// exporter read, at `PipelineLayout.rescanStatePath` (`<state dir>/rescan-state.json`).
///
/// JSON with these keys; times are epoch seconds (numbers), sizes bytes:
///
/// ```json
/// {"started": 1795600000.5, "databaseVersion": 27400, "filesDone": 120000, "filesTotal": 500000,
///  "bytesDone": 9000000000, "bytesTotal": 41000000000, "errors": 2, "detections": 1,
///  "lastCompletedAt": 1795400000}
/// ```
///
/// `started` is the start of the pass in progress (or of the last pass, once it completed);
/// `lastCompletedAt` the end of the last pass that finished (null before the first). Writers replace
/// the file atomically (write a temp file, fsync, rename).
public struct RescanState: JSONStateFile, Sendable, Hashable {
    public static let kind = "rescan state"
    public static let followsSymlinks = false

    public var started: Double?
    /// The daily database version the pass runs with (a new version starts a new pass).
    public var databaseVersion: Int?
    public var filesDone: Int
    /// Files in the clean trees, from the quick first walk (nil until it finished).
    public var filesTotal: Int?
    public var bytesDone: Int64
    public var bytesTotal: Int64?
    public var errors: Int
    public var detections: Int
    public var lastCompletedAt: Double?

    public init(
        started: Double? = nil, databaseVersion: Int? = nil, filesDone: Int = 0, filesTotal: Int? = nil,
        bytesDone: Int64 = 0, bytesTotal: Int64? = nil, errors: Int = 0, detections: Int = 0,
        lastCompletedAt: Double? = nil
    ) {
        self.started = started
        self.databaseVersion = databaseVersion
        self.filesDone = filesDone
        self.filesTotal = filesTotal
        self.bytesDone = bytesDone
        self.bytesTotal = bytesTotal
        self.errors = errors
        self.detections = detections
        self.lastCompletedAt = lastCompletedAt
    }

    /// Done fraction (0...1) by bytes when the total is known, else by files; nil when unknown.
    public var progress: Double? {
        if let bytesTotal, bytesTotal > 0 { return min(1, Double(bytesDone) / Double(bytesTotal)) }
        if let filesTotal, filesTotal > 0 { return min(1, Double(filesDone) / Double(filesTotal)) }
        return nil
    }

    /// Seconds until the pass finishes at the rate so far (bytes, else files); nil when unknown.
    public func eta(now: Double) -> Double? {
        guard let started, let progress, progress > 0, progress < 1 else { return nil }
        let elapsed = now - started
        guard elapsed > 0 else { return nil }
        return elapsed / progress * (1 - progress)
    }
}
