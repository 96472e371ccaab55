/// Scans one open file. Implementations are shared by several threads at once.
///
/// The descriptor is read from its start whatever its current offset (a retry on another daemon
/// must not start where a failed attempt stopped). Transport failures are retried where the
/// implementation can; whatever cannot be scanned is a ``ScanVerdict/error(message:)``, never clean.
public protocol FileScanner: Sendable {
    /// `clamd` or `libclamav`: what the journal records as the engine.
    var engineName: String { get }
    /// A one-line description for output (`clamd at unix:/run/clamav/clamd.ctl`).
    var summary: String { get }
    /// The verdict for the regular file open on `fileDescriptor`; `name` is for messages only.
    func scan(fileDescriptor: Int32, name: String) -> ScanVerdict
    /// How many scans run at once whatever the number of calling threads, when the scanner
    /// bounds that itself (worker processes); nil when each calling thread scans. A caller that
    /// does other work between scans (moving files, fsync) can then keep more threads than this,
    /// so the scanners never wait for it.
    var concurrentScans: Int? { get }
    /// The signature databases this scanner runs with: what libclamav loaded, or what clamd
    /// reports (its VERSION's daily number, with the main version from `databaseDirectory`'s
    /// headers). By default, the headers in `databaseDirectory`.
    func databaseVersion(databaseDirectory: String) throws(ScanningError) -> DatabaseVersion
    /// Whether the databases can change while a command runs (clamd reloads them; an engine
    /// loaded in-process keeps its own): a long run then asks ``databaseVersion(databaseDirectory:)``
    /// again now and then.
    var databasesCanChange: Bool { get }
}

extension FileScanner {
    public var concurrentScans: Int? { nil }
    public var databasesCanChange: Bool { false }

    public func databaseVersion(databaseDirectory: String) throws(ScanningError) -> DatabaseVersion {
        DatabaseVersion.onDisk(databaseDirectory)
    }
}
