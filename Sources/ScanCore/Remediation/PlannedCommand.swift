#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Synchronization

/// One step of a remediation plan: a command to run and what it should achieve. Plans are built
/// first, printed under `--dry-run`, and executed afterwards; a non-zero exit is data, not an error.
public struct PlannedCommand: Sendable, Hashable, CustomStringConvertible {
    public var executable: String
    public var arguments: [String]
    /// What running it should achieve, for the plan's printout.
    public var effect: String

    public init(executable: String, arguments: [String], effect: String) {
        self.executable = executable
        self.arguments = arguments
        self.effect = effect
    }

    public var description: String { ([executable] + arguments).map(Self.quote).joined(separator: " ") }

    static func quote(_ word: String) -> String {
        if !word.isEmpty && word.allSatisfy({ $0.isLetter || $0.isNumber || "-_./:=@%+,".contains($0) }) { return word }
        return "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }

    /// The result of running a planned command.
    public struct Outcome: Sendable, Hashable {
        public var exitStatus: Int32
        /// Set when it was killed by a signal.
        public var signal: Int32?
        public var output: String
        public var seconds: Double
        public var succeeded: Bool { exitStatus == 0 && signal == nil }
    }

    /// Runs it with stdin from /dev/null and stdout and stderr captured (merged, into a temp
    /// file: a daemon it starts in the background may keep a pipe open for ever). Throws only
    /// when it cannot be started.
    public func run() throws(RemediationError) -> Outcome {
        let path = executable.hasPrefix("/") ? executable : Self.which(executable) ?? executable
        let outputFD: Int32
        switch Sys.mkstemp("/tmp/virus_scan-cmd.XXXXXX") {
        case .success(let made):
            outputFD = made.fd
            _ = Sys.unlink(made.path)
        case .failure(let failure):
            throw RemediationError(.commandFailed, "cannot create a temp file for the output of \(description): \(failure.errno)")
        }
        defer { _ = Sys.close(outputFD) }
        let started = MonotonicClock.now()
        let pid: pid_t
        switch Sys.posixSpawn(path, [path] + arguments, output: outputFD) {
        case .success(let child): pid = child
        case .failure(let failure):
            throw RemediationError(.commandFailed, "cannot start \(description): \(errnoText(failure.errno.rawValue))")
        }
        let status = (try? Sys.waitpid(pid).get().status) ?? 0
        let seconds = MonotonicClock.now() - started
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        var offset: off_t = 0
        while bytes.count < 1 << 20 {
            guard case .success(let n) = buffer.withUnsafeMutableBytes({ Sys.pread(outputFD, $0.baseAddress!, $0.count, Int64(offset)) }),
                  n > 0 else { break }
            bytes += buffer[0..<n]
            offset += off_t(n)
        }
        let signaled = (status & 0x7f) != 0 && (status & 0x7f) != 0x7f
        let code = signaled ? 128 + (status & 0x7f) : (status >> 8) & 0xff
        return Outcome(exitStatus: code, signal: signaled ? status & 0x7f : nil,
                       output: String(decoding: bytes, as: UTF8.self), seconds: seconds)
    }

    static func which(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/sbin:/usr/bin:/sbin:/bin"
        for directory in path.split(separator: ":") where Sys.access("\(directory)/\(name)", X_OK) {
            return "\(directory)/\(name)"
        }
        return nil
    }
}
