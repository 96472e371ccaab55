import Glibc

/// What /proc says of a process (Linux): the fields tests look at in `/proc/PID/stat` and
/// `/proc/PID/comm`. nil when the process is gone (reaped).
public struct ProcessStatus: Sendable {
    /// The state letter: `R`, `S`, `T` (stopped), `Z` (exited, not yet reaped)…
    public let state: Character
    public let parent: pid_t
    /// utime + stime, in clock ticks.
    public let cpuTicks: Int

    public init?(_ pid: pid_t) {
        guard let text = Self.read("/proc/\(pid)/stat"), let close = text.lastIndex(of: ")") else { return nil }
        // After the ")" that ends the command name: state, ppid, … utime (12th), stime (13th).
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 12, let state = fields[0].first, let parent = pid_t(fields[1]) else { return nil }
        self.state = state
        self.parent = parent
        cpuTicks = (Int(fields[11]) ?? 0) + (Int(fields[12]) ?? 0)
    }

    /// The process's name as the kernel keeps it (`/proc/PID/comm`, without the newline).
    public static func name(_ pid: pid_t) -> String? {
        read("/proc/\(pid)/comm").map { $0.hasSuffix("\n") ? String($0.dropLast()) : $0 }
    }

    /// The processes whose parent is `pid`, sorted.
    public static func children(of pid: pid_t) -> [pid_t] {
        guard let dir = opendir("/proc") else { return [] }
        defer { closedir(dir) }
        var found: [pid_t] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
            if let candidate = pid_t(name), ProcessStatus(candidate)?.parent == pid { found.append(candidate) }
        }
        return found.sorted()
    }

    private static func read(_ path: String) -> String? {
        (try? FileOutput.read(path)).map { String(decoding: $0, as: UTF8.self) }
    }
}
