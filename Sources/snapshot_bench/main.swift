// Benchmark driver for the pipeline walk: takes a queue snapshot (or an outcome snapshot) of a
// directory with the release build and prints what it found and how long the walk took.
// Used by Benchmarks/walk.sh; not installed.
import ScanCore

#if canImport(Glibc)
import Glibc
#endif

func printError(_ text: String) {
    let line = Array((text + "\n").utf8)
    _ = line.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
}

var arguments = Array(CommandLine.arguments.dropFirst())
var threads = 2
var outcomeWindow: Double? = nil
var nowOffset: Double = 0
while let first = arguments.first, first.hasPrefix("--") {
    arguments.removeFirst()
    switch first {
    case "--threads": threads = Int(arguments.removeFirst()) ?? 2
    case "--outcome-window": outcomeWindow = Double(arguments.removeFirst())
    case "--now-offset": nowOffset = Double(arguments.removeFirst()) ?? 0  // pretend "now" is later (history)
    case "--make-tree":
        // --make-tree FILES DIRS DIR: FILES files spread over DIRS directories, ages 0-2 days.
        let files = Int(arguments.removeFirst())!, dirs = Int(arguments.removeFirst())!, root = arguments.removeFirst()
        makeTree(files: files, directories: dirs, root: root)
        exit(0)
    default: printError("unknown option \(first)"); exit(2)
    }
}
guard let path = arguments.first else {
    printError("usage: snapshot_bench [--threads N] [--outcome-window SECONDS] [--make-tree FILES DIRS DIR] DIR")
    exit(2)
}
let now = WallClock.now() + nowOffset
do {
    if let window = outcomeWindow {
        let snapshot = try OutcomeSnapshot.take(queue: "bench", outcome: .clean, path: path, now: now, window: window,
                                                options: SnapshotOptions(threads: threads))
        print("files=\(snapshot.files) arrivals=\(snapshot.arrivals.count) dirs=\(snapshot.directoriesRead) changed=\(snapshot.directoriesChanged) statted=\(snapshot.filesStatted) walk=\(snapshot.walkDuration)")
    } else {
        let snapshot = try QueueSnapshot.take(name: "bench", path: path, now: now, options: SnapshotOptions(threads: threads))
        print("files=\(snapshot.files) bytes=\(snapshot.bytes) oldest=\(snapshot.oldestAge ?? 0) p90=\(snapshot.percentiles?.p90 ?? 0) walk=\(snapshot.walkDuration)")
    }
} catch {
    printError("snapshot_bench: \(error)")
    exit(1)
}

func makeTree(files: Int, directories: Int, root: String) {
    mkdir(root, 0o755)
    let now = time(nil)
    var created = 0
    for d in 0..<directories {
        let dir = "\(root)/d\(d / 100)/\(d)"
        mkdir("\(root)/d\(d / 100)", 0o755)
        mkdir(dir, 0o755)
        let dirFD = open(dir, O_RDONLY | O_DIRECTORY)
        let perDir = files / directories + (d < files % directories ? 1 : 0)
        for f in 0..<perDir {
            let fd = openat(dirFD, "upload \(f).pdf", O_WRONLY | O_CREAT | O_TRUNC, 0o644)
            let size = (created * 7919) % 4096
            if size > 0 { ftruncate(fd, off_t(size)) }
            var times = [timespec(tv_sec: now - (created * 104729) % 172800, tv_nsec: 0), timespec(tv_sec: now - (created * 104729) % 172800, tv_nsec: 0)]
            futimens(fd, &times)
            close(fd)
            created += 1
        }
        close(dirFD)
    }
}
