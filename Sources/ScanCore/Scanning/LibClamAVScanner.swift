#if canImport(Glibc)
import Glibc
#endif

/// libclamav in-process: one compiled engine, shared either by the scanning threads themselves
/// or, with a ``ScanWorkerPool``, by worker processes forked from it (faster on two cores, and
/// a crash or a runaway scan costs one file, not the command).
public struct LibClamAVScanner: FileScanner {
    public let engine: ClamAVEngine
    /// The worker processes that scan, when there are any.
    public let pool: ScanWorkerPool?

    /// Scans in the calling threads.
    public init(engine: ClamAVEngine) {
        self.engine = engine
        self.pool = nil
    }

    /// Scans in `processes` worker processes forked from `engine`; a file that takes longer than
    /// `scanTimeout` is an error and its worker is replaced.
    public init(engine: ClamAVEngine, processes: Int, scanTimeout: Duration? = nil) throws(ClamAVError) {
        self.engine = engine
        self.pool = try ScanWorkerPool(engine: engine, workers: processes, scanTimeout: scanTimeout)
    }

    /// Loads the databases in `databaseDirectory` once; scans in the calling threads.
    public init(databaseDirectory: String, limits: ScanLimits = .default) throws(ClamAVError) {
        self.engine = try ClamAVEngine(databaseDirectory: databaseDirectory, limits: limits)
        self.pool = nil
    }

    public var engineName: String { "libclamav" }
    public var concurrentScans: Int? { pool?.workerCount }
    public var summary: String {
        let how = pool.map { "in \($0.workerCount) scanning process\($0.workerCount == 1 ? "" : "es")" } ?? "in-process"
        return "libclamav \(ClamAVEngine.libraryVersion) \(how), \(engine.signatureCount) signatures from \(engine.databasePath)"
    }

    public func scan(fileDescriptor: Int32, name: String) -> ScanVerdict {
        if case .failure(let failure) = Sys.lseek(fileDescriptor, 0, SEEK_SET) {
            return .error(message: "cannot rewind \(name): \(errnoText(failure.errno.rawValue))")
        }
        if let pool { return pool.scan(fileDescriptor: fileDescriptor, name: name) }
        return engine.scan(fileDescriptor: fileDescriptor, name: name)
    }

    public func databaseVersion(databaseDirectory: String) throws(ScanningError) -> DatabaseVersion {
        let versions = engine.loadedVersions
        return DatabaseVersion(daily: versions.daily, main: versions.main)
    }
}
