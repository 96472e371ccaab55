/// The limits libclamav applies to one scan. A file that exceeds one is reported as an error
/// verdict (`size limit exceeded: …`), never as clean: the engine turns on
/// `CL_SCAN_HEURISTIC_EXCEEDS_MAX` and maps libclamav's `Heuristics.Limits.Exceeded.*` alerts
/// to ``ScanVerdict/error(message:)``.
///
/// The defaults are clamd's (and libclamav's) own.
public struct ScanLimits: Sendable, Hashable {
    /// Files larger than this are not scanned (clamd's `MaxFileSize`; 100 MiB). Also applies to
    /// each file extracted from an archive.
    public var maxFileSize: Int64
    /// The most data scanned per file, counting everything extracted from it (clamd's
    /// `MaxScanSize`; 400 MiB).
    public var maxScanSize: Int64
    /// How deep archives within archives are unpacked (clamd's `MaxRecursion`; 17).
    public var maxRecursion: Int
    /// The most files scanned within one archive or document (clamd's `MaxFiles`; 10,000).
    public var maxFiles: Int

    public init(
        maxFileSize: Int64 = 100 << 20, maxScanSize: Int64 = 400 << 20, maxRecursion: Int = 17,
        maxFiles: Int = 10_000
    ) {
        self.maxFileSize = maxFileSize
        self.maxScanSize = maxScanSize
        self.maxRecursion = maxRecursion
        self.maxFiles = maxFiles
    }

    /// clamd's defaults.
    public static let `default` = ScanLimits()
}
