import CClamAV

#if canImport(Glibc)
import Glibc
#endif

/// A compiled libclamav engine: a signature database loaded once, then shared by any number of
/// scanning threads.
///
/// ```swift
/// let engine = try ClamAVEngine(databaseDirectory: "/var/lib/clamav")
/// print(engine.signatureCount, engine.loadDuration)
/// let verdict = engine.scan(path: "/srv/uploads/incoming/report.pdf")
/// ```
///
/// Scanning uses clamd's default options: archives, PDFs, Office (OLE2 and OOXML), HTML, mail,
/// PE/ELF, images, with heuristic alerts on. A file over one of the ``ScanLimits`` is an error
/// verdict, never clean.
public final class ClamAVEngine: Sendable {
    /// The libclamav engine this instance owns. Read-only once compiled.
    let handle: EngineHandle

    /// The database directory (or file) loaded.
    public let databasePath: String
    /// Signatures loaded (`cl_load`'s count).
    public let signatureCount: Int
    /// Wall-clock time of loading and compiling the database.
    public let loadDuration: Duration
    /// The limits every scan applies.
    public let limits: ScanLimits
    /// Versions of the databases as loaded. libclamav itself records the daily version and build
    /// time (`CL_ENGINE_DB_VERSION`, `CL_ENGINE_DB_TIME`); main and bytecode come from the headers
    /// of the containers in the directory, read just before loading it.
    public let loadedVersions: SignatureDatabaseInventory.Versions
    /// Warnings libclamav printed while loading (duplicate databases, an outdated engine, a daily
    /// database older than 7 days), without the `LibClamAV Warning:` prefix.
    public let loadWarnings: [String]

    /// Loads and compiles every database in `databaseDirectory` (or the single database file at
    /// that path) with the standard options (`CL_DB_STDOPT`: phishing signatures and URLs,
    /// bytecode).
    ///
    /// The corresponding C functions are `cl_init` (once per process), `cl_engine_new`,
    /// `cl_engine_set_num`, `cl_load` and `cl_engine_compile`.
    ///
    /// - Throws: ``ClamAVError`` with libclamav's message: `.databaseNotFound` when the path
    ///   cannot be opened, `.malformedDatabase` for a corrupt database or a bad signature line
    ///   (the message names the file and line libclamav complained about), `.noSignatures` for a
    ///   directory without signatures.
    public init(databaseDirectory: String, limits: ScanLimits = .default) throws(ClamAVError) {
        let clock = ContinuousClock()
        let start = clock.now
        let handle = try EngineHandle()
        try handle.set(CL_ENGINE_MAX_FILESIZE, limits.maxFileSize, name: "the maximum file size")
        try handle.set(CL_ENGINE_MAX_SCANSIZE, limits.maxScanSize, name: "the maximum scan size")
        try handle.set(CL_ENGINE_MAX_RECURSION, Int64(limits.maxRecursion), name: "the maximum recursion")
        try handle.set(CL_ENGINE_MAX_FILES, Int64(limits.maxFiles), name: "the maximum number of files")
        let inventory = try? SignatureDatabaseInventory.read(directory: databaseDirectory, containersOnly: true)
        // CL_DB_STDOPT, a macro Swift does not import.
        let standard = UInt32(CL_DB_PHISHING | CL_DB_PHISHING_URLS | CL_DB_BYTECODE)
        let loaded = try handle.load(databaseDirectory, options: standard)
        if loaded.signatures == 0 {
            throw ClamAVError(
                .noSignatures, "no signatures in \(databaseDirectory): libclamav loaded 0 signatures",
                libclamavMessages: loaded.warnings)
        }
        try handle.compile()
        self.handle = handle
        databasePath = databaseDirectory
        signatureCount = loaded.signatures
        loadWarnings = loaded.warnings.map { $0.hasPrefix("warning: ") ? String($0.dropFirst(9)) : $0 }
        self.limits = limits
        let daily = handle.get(CL_ENGINE_DB_VERSION)
        let dailyTime = handle.get(CL_ENGINE_DB_TIME)
        var versions = inventory?.versions ?? SignatureDatabaseInventory.Versions()
        if daily > 0 {
            versions.daily = Int(daily)
            versions.dailyBuildTimestamp = dailyTime > 0 ? dailyTime : versions.dailyBuildTimestamp
        }
        loadedVersions = versions
        loadDuration = clock.now - start
    }

    /// Scans the open file `fileDescriptor` from its current offset to its end. `name` is only
    /// used in libclamav's own messages.
    ///
    /// The corresponding C function is `cl_scandesc`.
    ///
    /// - Returns: `.clean`, `.infected(signature:)` with the name libclamav reports (names from
    ///   unsigned databases end in `.UNOFFICIAL`), or `.error(message:)`: `size limit exceeded
    ///   (Heuristics.Limits.Exceeded.MaxFileSize)` and the like when a limit stopped the scan,
    ///   otherwise `cl_strerror`'s text and what libclamav printed.
    public func scan(fileDescriptor: Int32, name: String? = nil) -> ScanVerdict {
        var options = ClamAVEngine.scanOptions
        return Self.verdict(handle.scan(fd: fileDescriptor, name: name, options: &options))
    }

    /// The verdict for one scan's outcome, in this process or in a ``ScanWorkerPool`` worker.
    static func verdict(_ outcome: EngineHandle.ScanOutcome) -> ScanVerdict {
        switch outcome {
        case .clean:
            return .clean
        case .virus(let signature):
            if signature.hasPrefix(ClamAVEngine.limitsExceededPrefix) {
                return .error(message: "size limit exceeded (\(signature))")
            }
            return .infected(signature: signature)
        case .failed(let code, let messages):
            return .error(message: messages.isEmpty ? code : code + ": " + messages.joined(separator: "; "))
        }
    }

    /// Opens `path` read-only and scans it (see ``scan(fileDescriptor:name:)``). A file that
    /// cannot be opened is an error verdict naming the errno.
    public func scan(path: String) -> ScanVerdict {
        let fd: Int32
        do { fd = try openRegularFile(path) } catch { return .error(message: "cannot open \(path): \(error)") }
        defer { _ = Sys.close(fd, path: path) }
        return scan(fileDescriptor: fd, name: path)
    }

    /// libclamav's version (`1.4.6`). The corresponding C function is `cl_retver`.
    public static var libraryVersion: String {
        String(cString: cl_retver())
    }

    /// The engine's functionality level, which a database's header may require. The
    /// corresponding C function is `cl_retflevel`.
    public static var functionalityLevel: Int { Int(cl_retflevel()) }

    /// The prefix of the heuristic names libclamav reports when a limit stopped a scan.
    static let limitsExceededPrefix = "Heuristics.Limits.Exceeded"

    /// clamd's default scan options, plus `CL_SCAN_HEURISTIC_EXCEEDS_MAX` so that a scan cut
    /// short by a limit is reported rather than passed as clean.
    static let scanOptions: cl_scan_options = {
        var options = cl_scan_options()
        options.general = UInt32(CL_SCAN_GENERAL_HEURISTICS)
        options.parse =
            UInt32(CL_SCAN_PARSE_ARCHIVE | CL_SCAN_PARSE_ELF | CL_SCAN_PARSE_PDF | CL_SCAN_PARSE_SWF)
            | UInt32(CL_SCAN_PARSE_HWP3 | CL_SCAN_PARSE_XMLDOCS | CL_SCAN_PARSE_MAIL | CL_SCAN_PARSE_OLE2)
            | UInt32(CL_SCAN_PARSE_HTML | CL_SCAN_PARSE_PE | CL_SCAN_PARSE_ONENOTE | CL_SCAN_PARSE_IMAGE)
            | UInt32(CL_SCAN_PARSE_IMAGE_FUZZY_HASH)
        options.heuristic = UInt32(CL_SCAN_HEURISTIC_EXCEEDS_MAX)
        options.mail = 0
        options.dev = 0
        return options
    }()
}
