#if canImport(Glibc)
import Glibc
#endif

/// Who holds a flock(2) lock on a file, read from /proc/locks without touching the lock (taking
/// it, even for an instant, could make a starting run give up).
public enum LockProbe {
    /// A lock holder.
    public struct Holder: Sendable, Hashable {
        public var pid: Int32
        /// `WRITE` (exclusive) or `READ` (shared).
        public var mode: String

        public init(pid: Int32, mode: String) {
            self.pid = pid
            self.mode = mode
        }
    }

    /// The holders of flock locks on `path`; empty when the file exists and nobody holds it;
    /// nil when the file does not exist.
    public static func holders(of path: String, procLocks: String = "/proc/locks") throws(PipelineError) -> [Holder]? {
        let info: Glibc.stat
        switch Sys.statFollowing(path) {
        case .success(let stat): info = stat
        case .failure(let failure):
            let error = failure.errno.rawValue
            if error == ENOENT { return nil }
            throw PipelineError(.io, "cannot stat lock file \(path): \(PipelineError.errnoText(error)) (errno \(error))", path: path, errno: error)
        }
        let text: String
        do { text = try readTextFile(procLocks) } catch {
            throw PipelineError(.io, "cannot read \(procLocks): \(error)", path: procLocks, errno: error.rawValue)
        }
        return holders(in: text, device: UInt64(info.st_dev), inode: UInt64(info.st_ino))
    }

    /// Parses /proc/locks text: FLOCK entries (not waiters, `->`) on the given device and inode.
    public static func holders(in text: String, device: UInt64, inode: UInt64) -> [Holder] {
        let major = ((device >> 8) & 0xfff) | ((device >> 32) & ~UInt64(0xfff))
        let minor = (device & 0xff) | ((device >> 12) & ~UInt64(0xff))
        var result: [Holder] = []
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            // "7: FLOCK  ADVISORY  WRITE 30978 fe:00:16220536 0 EOF"
            guard fields.count >= 6, fields[1] == "FLOCK" else { continue }
            let id = fields[5].split(separator: ":")
            guard id.count == 3, let maj = UInt64(id[0], radix: 16), let min = UInt64(id[1], radix: 16),
                let ino = UInt64(id[2]), maj == major, min == minor, ino == inode, let pid = Int32(fields[4])
            else { continue }
            result.append(Holder(pid: pid, mode: String(fields[3])))
        }
        return result
    }
}
