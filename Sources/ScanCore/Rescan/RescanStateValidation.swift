#if canImport(Glibc)
import Glibc
#endif

/// The rescan state file is validated, never trusted: a checkpoint is where a pass resumes, so a
/// wrong one skips files silently (a checkpoint `zzzz` made a pass "complete" with 14 of 35 files
/// never rescanned). `rescan-clean` refuses such a file (exit 5; `--new-pass` starts over) and the
/// `rescan` check mode is UNKNOWN.
public enum RescanStateValidation {
    /// What is wrong with the decoded file by itself (pure): an unknown format, negative counters,
    /// more done than the total, more errors or detections than files done, a checkpoint or a
    /// done-beyond entry that is not a relative path (or not after the checkpoint).
    public static func problems(_ progress: RescanProgress) -> [String] {
        var problems: [String] = []
        if progress.format != RescanProgress.currentFormat {
            problems.append("unknown format \(progress.format) (this version reads \(RescanProgress.currentFormat))")
        }
        let counters: [(String, Int64?)] = [
            ("filesDone", Int64(progress.filesDone)), ("filesTotal", progress.filesTotal.map(Int64.init)),
            ("bytesDone", progress.bytesDone), ("bytesTotal", progress.bytesTotal),
            ("errors", Int64(progress.errors)), ("detections", Int64(progress.detections)), ("skipped", Int64(progress.skipped)),
        ]
        for (name, value) in counters {
            if let value, value < 0 { problems.append("\(name) is negative (\(value))") }
        }
        if let total = progress.filesTotal, progress.filesDone > total {
            problems.append("filesDone \(progress.filesDone) is more than filesTotal \(total)")
        }
        if let total = progress.bytesTotal, progress.bytesDone > total {
            problems.append("bytesDone \(progress.bytesDone) is more than bytesTotal \(total)")
        }
        if progress.errors + progress.detections > progress.filesDone && progress.errors >= 0 && progress.detections >= 0 {
            problems.append("errors \(progress.errors) and detections \(progress.detections) are more than filesDone \(progress.filesDone)")
        }
        for tree in progress.trees {
            let checkpoint = tree.checkpoint.map { ($0, RescanPath.unescape($0)) }
            if let (text, path) = checkpoint {
                if path.map(isRelativePath) != true {
                    problems.append("the checkpoint \"\(text.prefix(200))\" of \(tree.path) is not a relative path")
                }
            }
            for entry in tree.doneBeyond {
                guard let path = RescanPath.unescape(entry), isRelativePath(path) else {
                    problems.append("the done-beyond entry \"\(entry.prefix(200))\" of \(tree.path) is not a relative path")
                    continue
                }
                if let point = checkpoint?.1, !RescanPath.precedes(point, path) {
                    problems.append("the done-beyond entry \"\(entry.prefix(200))\" of \(tree.path) is not after its checkpoint")
                }
            }
        }
        return problems
    }

    /// Checkpoints of unfinished trees that name no entry of their clean tree, nor of the infected
    /// tree `infected(tree)` (where a detection that was the checkpoint went). Looks at the file
    /// system (`lstat`, no symlink followed at the last component).
    public static func checkpointProblems(_ progress: RescanProgress, infected: (RescanProgress.TreeProgress) -> String?) -> [String] {
        var problems: [String] = []
        for tree in progress.trees where !tree.done {
            guard let text = tree.checkpoint, let path = RescanPath.unescape(text), isRelativePath(path) else { continue }
            let relative = String(decoding: path, as: UTF8.self)
            let inClean = exists(tree.path, path)
            let inInfected = infected(tree).map { exists($0, path) } ?? false
            if !inClean && !inInfected {
                problems.append("the checkpoint \"\(PathEscaping.display(Array(relative.utf8)).prefix(200))\" is not a path of \(tree.path)")
            }
        }
        return problems
    }

    /// Non-empty, not absolute, no empty, `.` or `..` component.
    static func isRelativePath(_ path: [UInt8]) -> Bool {
        guard !path.isEmpty, path.first != UInt8(ascii: "/"), !path.contains(0) else { return false }
        for component in path.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false) {
            if component.isEmpty || component.elementsEqual([UInt8(ascii: ".")]) || component.elementsEqual([UInt8(ascii: "."), UInt8(ascii: ".")]) {
                return false
            }
        }
        return true
    }

    private static func exists(_ root: String, _ relative: [UInt8]) -> Bool {
        if case .success = Sys.stat(AT_FDCWD, Array(root.utf8) + [UInt8(ascii: "/")] + relative) { return true }
        return false
    }
}
