import CScanSupport

/// Messages to syslog under the tag `virus_scan`, as the legacy scripts logged them.
public enum Syslog {
    public static let tag = "virus_scan"

    public enum Priority: Int32, Sendable {
        case error = 3, warning = 4, notice = 5, info = 6
    }

    /// Sends one message (facility `user`). The corresponding C function is `syslog`.
    public static func send(_ priority: Priority, _ message: String) {
        vs_syslog(tag, 1 << 3, priority.rawValue, message)
    }
}
