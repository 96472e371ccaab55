#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Synchronization

/// Restarting clamd and waiting for it to answer again.
public enum ClamdRestart {
    /// The default restart command: systemd's when systemd is running (`/run/systemd/system`
    /// exists), else the SysV `service` wrapper.
    public static func defaultCommand(systemdMarker: String = "/run/systemd/system") -> PlannedCommand {
        if Sys.access(systemdMarker, F_OK) {
            return PlannedCommand(executable: "systemctl", arguments: ["restart", "clamav-daemon"], effect: "restart clamd (systemd)")
        }
        return PlannedCommand(executable: "service", arguments: ["clamav-daemon", "restart"], effect: "restart clamd (SysV service)")
    }

    /// A `--command` string, run by `/bin/sh -c`.
    public static func shellCommand(_ text: String) -> PlannedCommand {
        PlannedCommand(executable: "/bin/sh", arguments: ["-c", text], effect: "restart clamd")
    }

    /// What waiting found.
    public struct Wait: Sendable {
        /// Seconds until the first PONG, or nil if none came before the deadline.
        public var secondsToPong: Double?
        public var version: ClamdVersion?
        public var lastError: String?
    }

    /// Polls PING (every 100 ms) until PONG or `deadline` seconds, then asks VERSION.
    public static func waitForPong(_ client: ClamdClient, deadline: Double, settle: Double = 0) -> Wait {
        let started = MonotonicClock.now()
        var lastError: String?
        sleepSeconds(settle)
        while MonotonicClock.now() - started < deadline {
            do {
                _ = try client.ping()
                let seconds = MonotonicClock.now() - started
                let version = try? client.version()
                return Wait(secondsToPong: seconds, version: version, lastError: nil)
            } catch {
                lastError = error.message
            }
            sleepSeconds(0.1)
        }
        return Wait(secondsToPong: nil, version: nil, lastError: lastError)
    }
}
