/// clamd's reply to STATS, typed. Every field is optional: clamd leaves some out (MEMSTATS shows
/// `N/A` where the C library has no `mallinfo`), and fields it adds later are ignored.
///
/// ```
/// POOLS: 1
///
/// STATE: VALID PRIMARY
/// THREADS: live 1  idle 0 max 2 idle-timeout 30
/// QUEUE: 0 items
/// \tSTATS 0.000002
///
/// MEMSTATS: heap N/A mmap N/A used N/A free N/A releasable N/A pools 1 pools_used 5.897M pools_total 5.980M
/// END
/// ```
public struct ClamdStats: Sendable, Hashable {
    /// Number of thread pools (`POOLS:`).
    public var pools: Int?
    /// The pool's state (`VALID PRIMARY`; `INVALID`, `VALID SECONDARY` while reloading).
    public var state: String?
    /// Threads alive (`live`), idle, the MaxThreads limit, and the idle timeout in seconds.
    public var threadsLive: Int?
    public var threadsIdle: Int?
    public var threadsMax: Int?
    public var threadsIdleTimeout: Int?
    /// Jobs waiting in the queue (`QUEUE: N items`).
    public var queueItems: Int?
    /// The jobs listed under QUEUE (running and queued): command and seconds since it started.
    public var jobs: [Job]
    /// The same lines with the file each task works on (``TaskLine``).
    public var tasks: [TaskLine]
    /// MEMSTATS, in bytes (clamd prints MiB with three decimals).
    public var memory: Memory
    /// The whole reply.
    public var raw: String

    /// One job line under QUEUE (`\tFILDES 0.000204 fd[9]`).
    public struct Job: Sendable, Hashable {
        public var command: String
        public var seconds: Double?

        public init(command: String, seconds: Double?) {
            self.command = command
            self.seconds = seconds
        }
    }

    /// One task line under QUEUE with its file, as clamd 1.4 prints them (`\tCOMMAND SECONDS FILE`,
    /// FILE empty for commands without one). Captured from a real clamd:
    ///
    /// ```
    /// \tSCAN 0.053379 /srv/upload/incoming/report.pdf
    /// \tINSTREAM 0.002985 instream(local)
    /// \tFILDES 0.000204 fd[9]
    /// \tSTATS 0.000012 
    /// \tIDLE 0.001555 
    /// ```
    ///
    /// clamd lists an INSTREAM only once the stream has arrived and is being scanned: while a client
    /// is still sending chunks, clamd's accept thread buffers them and no task line shows.
    public struct TaskLine: Sendable, Hashable {
        public var command: String
        public var seconds: Double?
        /// What the task scans: a path, `instream(local)`, `fd[9]`; nil when clamd printed none.
        public var file: String?

        public init(command: String, seconds: Double?, file: String? = nil) {
            self.command = command
            self.seconds = seconds
            self.file = file
        }

        /// An idle thread's line (`IDLE`) or the STATS command answering: not a scan in flight.
        public var isScan: Bool { command != "IDLE" && command != "STATS" }

        /// `\tSCAN 0.053379 /path with spaces/f` → SCAN, 0.053379, `/path with spaces/f`.
        init?(line: Substring) {
            var rest = line.drop(while: { $0 == "\t" || $0 == " " })
            let commandEnd = rest.firstIndex(where: { $0 == " " || $0 == "\t" }) ?? rest.endIndex
            guard commandEnd > rest.startIndex else { return nil }
            command = String(rest[..<commandEnd])
            rest = rest[commandEnd...].drop(while: { $0 == " " || $0 == "\t" })
            let secondsEnd = rest.firstIndex(where: { $0 == " " || $0 == "\t" }) ?? rest.endIndex
            seconds = Double(rest[..<secondsEnd])
            var name = secondsEnd < rest.endIndex ? rest[rest.index(after: secondsEnd)...] : ""
            while name.last == " " || name.last == "\r" { name = name.dropLast() }
            file = name.isEmpty ? nil : String(name)
        }
    }

    /// The tasks scanning now, longest-running first: the task lines without idle threads and
    /// without the STATS command itself.
    public var inFlight: [TaskLine] {
        tasks.filter(\.isScan).sorted { ($0.seconds ?? 0) > ($1.seconds ?? 0) }
    }

    /// The longest-running task in flight; nil when clamd scans nothing.
    public var longestInFlight: TaskLine? { inFlight.first }

    /// MEMSTATS values in bytes; nil when clamd printed `N/A` or left the field out.
    public struct Memory: Sendable, Hashable {
        public var heap: Double?
        public var mmap: Double?
        public var used: Double?
        public var free: Double?
        public var releasable: Double?
        /// The number of memory pools.
        public var pools: Int?
        public var poolsUsed: Double?
        public var poolsTotal: Double?

        public init(heap: Double? = nil, mmap: Double? = nil, used: Double? = nil, free: Double? = nil,
                    releasable: Double? = nil, pools: Int? = nil, poolsUsed: Double? = nil, poolsTotal: Double? = nil) {
            self.heap = heap
            self.mmap = mmap
            self.used = used
            self.free = free
            self.releasable = releasable
            self.pools = pools
            self.poolsUsed = poolsUsed
            self.poolsTotal = poolsTotal
        }
    }

    /// Parses a STATS reply. Returns nil when the text does not look like one (no `POOLS:` line and
    /// no `STATE:` line).
    public init?(parsing reply: String) {
        raw = reply
        jobs = []
        tasks = []
        memory = Memory()
        var sawHeader = false
        var inQueue = false
        for rawLine in reply.split(separator: "\n", omittingEmptySubsequences: false) {
            if rawLine.hasPrefix("\t") {
                if inQueue {
                    let words = rawLine.split(whereSeparator: { $0 == " " || $0 == "\t" })
                    if let command = words.first {
                        jobs.append(Job(command: String(command), seconds: words.count > 1 ? Double(words[1]) : nil))
                    }
                    if let task = TaskLine(line: rawLine) { tasks.append(task) }
                }
                continue
            }
            inQueue = false
            let line = rawLine.drop(while: { $0 == " " })
            guard let colon = line.firstIndex(of: ":") else { continue }
            let key = line[..<colon]
            let value = line[line.index(after: colon)...].drop(while: { $0 == " " })
            switch key {
            case "POOLS":
                if pools == nil { pools = Int(value.trimmingTrailingSpaces) }
                sawHeader = true
            case "STATE":
                if state == nil { state = String(value.trimmingTrailingSpaces) }
                sawHeader = true
            case "THREADS":
                let pairs = Self.pairs(value)
                threadsLive = threadsLive ?? pairs["live"].flatMap { Int($0) }
                threadsIdle = threadsIdle ?? pairs["idle"].flatMap { Int($0) }
                threadsMax = threadsMax ?? pairs["max"].flatMap { Int($0) }
                threadsIdleTimeout = threadsIdleTimeout ?? pairs["idle-timeout"].flatMap { Int($0) }
            case "QUEUE":
                let words = value.split(separator: " ")
                if queueItems == nil, let first = words.first { queueItems = Int(first) }
                inQueue = true
            case "MEMSTATS":
                let pairs = Self.pairs(value)
                memory.heap = Self.mebibytes(pairs["heap"])
                memory.mmap = Self.mebibytes(pairs["mmap"])
                memory.used = Self.mebibytes(pairs["used"])
                memory.free = Self.mebibytes(pairs["free"])
                memory.releasable = Self.mebibytes(pairs["releasable"])
                memory.pools = pairs["pools"].flatMap { Int($0) }
                memory.poolsUsed = Self.mebibytes(pairs["pools_used"])
                memory.poolsTotal = Self.mebibytes(pairs["pools_total"])
            default:
                continue
            }
        }
        guard sawHeader else { return nil }
    }

    /// `live 1  idle 0 max 2` → ["live": "1", "idle": "0", "max": "2"].
    private static func pairs(_ text: Substring) -> [String: String] {
        let words = text.split(whereSeparator: { $0 == " " || $0 == "\t" })
        var result: [String: String] = [:]
        var index = 0
        while index + 1 < words.count {
            result[String(words[index])] = String(words[index + 1])
            index += 2
        }
        return result
    }

    /// `5.897M` → bytes; `N/A` or a missing field → nil.
    private static func mebibytes(_ text: String?) -> Double? {
        guard let text, text.hasSuffix("M"), let value = Double(text.dropLast()) else { return nil }
        return value * 1_048_576
    }
}

extension Substring {
    fileprivate var trimmingTrailingSpaces: Substring {
        var result = self
        while result.last == " " || result.last == "\r" { result = result.dropLast() }
        return result
    }
}
