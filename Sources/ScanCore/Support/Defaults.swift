/// The paths every command uses when not told otherwise (Debian's packaging of ClamAV and this
/// project's own), defined once for the check, the remediation commands and the exporter. The
/// pipeline layout's own defaults are ``PipelineLayout/defaultRoot``,
/// ``PipelineLayout/defaultConfigFile`` and ``PipelineLayout/defaultStateDirectory``.
public enum Defaults {
    /// clamd's unix socket (`LocalSocket` in Debian's clamd.conf).
    public static let clamdSocket = "/var/run/clamav/clamd.ctl"
    /// The signature database directory (freshclam's `DatabaseDirectory`).
    public static let databaseDirectory = "/var/lib/clamav"
    /// The lock a running `rescan-clean` holds (the `rescan` mode and the exporter probe it).
    public static let rescanLock = "/var/run/virus_scan/rescan.lock"
}
