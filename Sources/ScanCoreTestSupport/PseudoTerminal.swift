import CScanSupport
import Glibc

/// A pseudo-terminal for giving a child process a terminal on one of its descriptors (a command
/// that draws a progress bar only when stderr is a terminal). The test keeps the master side and
/// hands the slave's path to ``ChildProcess`` (`stderrFile:`).
public final class PseudoTerminal: @unchecked Sendable {
    /// The master side, read by the test.
    public let master: Int32
    /// The slave side's path (`/dev/pts/N`).
    public let slavePath: String

    public init() throws {
        var name = [CChar](repeating: 0, count: 128)
        let fd = vs_open_pty(&name, UInt(name.count))
        guard fd >= 0 else { throw FixtureError.errno("cannot open", "a pseudo-terminal") }
        master = fd
        slavePath = String(cString: name)
    }

    deinit { close(master) }

    /// Reads everything the terminal receives while `isRunning` holds, then what is left, until
    /// every slave side is closed or nothing more comes for 100 ms.
    public func readAll(while isRunning: () -> Bool) -> [UInt8] {
        var output: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        var finished = false
        while true {
            var descriptor = pollfd(fd: master, events: Int16(POLLIN), revents: 0)
            if poll(&descriptor, 1, 100) > 0 {
                let n = buffer.withUnsafeMutableBytes { read(master, $0.baseAddress, $0.count) }
                if n > 0 {
                    output += buffer[0..<n]
                    continue
                }
                break  // EIO: every slave side is closed
            }
            if finished { break }
            if !isRunning() { finished = true }
        }
        return output
    }
}
