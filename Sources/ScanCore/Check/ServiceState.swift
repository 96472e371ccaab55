/// A monitoring-plugin state, with its exit code as the raw value (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN).
public enum ServiceState: Int32, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case ok = 0
    case warning = 1
    case critical = 2
    case unknown = 3

    /// `OK`, `WARNING`, `CRITICAL` or `UNKNOWN`: the word printed after `VIRUS_SCAN`.
    public var description: String {
        switch self {
        case .ok: "OK"
        case .warning: "WARNING"
        case .critical: "CRITICAL"
        case .unknown: "UNKNOWN"
        }
    }

    /// The process exit code for this state.
    public var exitCode: Int32 { rawValue }

    /// How much the state matters when several are combined: CRITICAL > WARNING > UNKNOWN > OK
    /// (the C library's `max_state_alt`): a broken service outranks a part the plugin could not look at.
    public var severity: Int {
        switch self {
        case .ok: 0
        case .unknown: 1
        case .warning: 2
        case .critical: 3
        }
    }

    /// The most significant of two states.
    public func worst(_ other: ServiceState) -> ServiceState {
        other.severity > severity ? other : self
    }

    /// The most significant state in `states`; `.ok` for none.
    public static func worst(_ states: some Sequence<ServiceState>) -> ServiceState {
        states.reduce(.ok) { $0.worst($1) }
    }
}
