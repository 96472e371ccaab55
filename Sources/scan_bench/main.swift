// scan_bench: the in-process half of Benchmarks/inprocess-scan.sh. Loads a signature database
// into libclamav once (ClamAVEngine), then scans every file under the given paths with N threads
// sharing the engine, and prints key=value lines (load time, RSS, files, bytes, seconds,
// verdict counts). With --processes N the scans run in N worker processes forked from the
// loaded engine (ScanWorkerPool, what the commands use), fed by N threads; with --threads N
// they run in N threads sharing the engine in this process. With --load-only it loads and
// reports only.
//
//   scan_bench --database DIR [--threads 2 | --processes 2] [--load-only] PATH...
import Dispatch
import Glibc
import ScanCore
import Synchronization

struct Options {
    var database = ""
    var threads = 2
    var processes = 0
    var loadOnly = false
    var paths: [String] = []
}

func fail(_ message: String) -> Never {
    let text = Array("scan_bench: \(message)\n".utf8)
    _ = text.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
    exit(2)
}

func parse(_ arguments: [String]) -> Options {
    var options = Options()
    var index = 0
    while index < arguments.count {
        let argument = arguments[index]
        func value() -> String {
            index += 1
            guard index < arguments.count else { fail("\(argument) needs a value") }
            return arguments[index]
        }
        switch argument {
        case "--database": options.database = value()
        case "--threads":
            guard let n = Int(value()), n > 0 else { fail("--threads needs a positive number") }
            options.threads = n
        case "--processes":
            guard let n = Int(value()), n > 0 else { fail("--processes needs a positive number") }
            options.processes = n
            options.threads = n
        case "--load-only": options.loadOnly = true
        case "-h", "--help":
            print("usage: scan_bench --database DIR [--threads N | --processes N] [--load-only] PATH...")
            exit(0)
        default:
            if argument.hasPrefix("-") { fail("unknown option \(argument)") }
            options.paths.append(argument)
        }
        index += 1
    }
    if options.database.isEmpty { fail("--database is required") }
    return options
}

/// Regular files under `path`, depth first, sorted by name per directory.
func collect(_ path: String, into files: inout [String]) {
    var st = stat()
    guard lstat(path, &st) == 0 else { fail("cannot stat \(path)") }
    if (st.st_mode & S_IFMT) == S_IFREG {
        files.append(path)
        return
    }
    guard (st.st_mode & S_IFMT) == S_IFDIR, let dir = opendir(path) else { return }
    var names: [String] = []
    while let entry = readdir(dir) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
        if name != ".", name != ".." { names.append(name) }
    }
    closedir(dir)
    for name in names.sorted() { collect(path + "/" + name, into: &files) }
}

/// VmRSS and VmHWM from /proc/self/status, in bytes.
func memory() -> (rss: Int, peak: Int) {
    guard let file = fopen("/proc/self/status", "r") else { return (0, 0) }
    defer { fclose(file) }
    var rss = 0
    var peak = 0
    var line = [CChar](repeating: 0, count: 256)
    while fgets(&line, 256, file) != nil {
        let text = String(cString: line)
        let kilobytes = Int(text.split(separator: " ").dropFirst().first { !$0.isEmpty } ?? "") ?? 0
        if text.hasPrefix("VmRSS:") { rss = kilobytes * 1024 }
        if text.hasPrefix("VmHWM:") { peak = kilobytes * 1024 }
    }
    return (rss, peak)
}

func seconds(_ duration: Duration) -> String {
    let (s, attoseconds) = duration.components
    let value = Double(s) + Double(attoseconds) / 1e18
    var text = String(Int((value * 1000).rounded()))
    while text.count < 4 { text = "0" + text }
    return String(text.dropLast(3)) + "." + String(text.suffix(3))
}

let options = parse(Array(CommandLine.arguments.dropFirst()))
let clock = ContinuousClock()
let start = clock.now
let engine: ClamAVEngine
do {
    engine = try ClamAVEngine(databaseDirectory: options.database)
} catch {
    fail("\(error)")
}
let afterLoad = memory()
print("libclamav=\(ClamAVEngine.libraryVersion)")
print("signatures=\(engine.signatureCount)")
print("load_seconds=\(seconds(engine.loadDuration))")
print("rss_after_load_bytes=\(afterLoad.rss)")
if options.loadOnly { exit(0) }

var files: [String] = []
for path in options.paths { collect(path, into: &files) }
let work = files
let next = Atomic<Int>(0)
let results = Mutex<(clean: Int, infected: [String], errors: [String], bytes: Int)>((0, [], [], 0))
let scanStart = clock.now
var pool: ScanWorkerPool? = nil
if options.processes > 0 {
    do { pool = try ScanWorkerPool(engine: engine, workers: options.processes) } catch { fail("\(error)") }
}
let workers = pool
func scanFile(_ path: String) -> ScanVerdict {
    guard let workers else { return engine.scan(path: path) }
    let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)
    if fd < 0 { return .error(message: "cannot open \(path): errno \(errno)") }
    defer { close(fd) }
    return workers.scan(fileDescriptor: fd, name: path)
}
DispatchQueue.concurrentPerform(iterations: options.threads) { _ in
    var clean = 0
    var infected: [String] = []
    var errors: [String] = []
    var bytes = 0
    while true {
        let index = next.wrappingAdd(1, ordering: .relaxed).oldValue
        if index >= work.count { break }
        let path = work[index]
        var st = stat()
        if stat(path, &st) == 0 { bytes += Int(st.st_size) }
        switch scanFile(path) {
        case .clean: clean += 1
        case .infected(let signature): infected.append("\(path): \(signature)")
        case .error(let message): errors.append("\(path): \(message)")
        }
    }
    results.withLock { total in
        total.clean += clean
        total.infected += infected
        total.errors += errors
        total.bytes += bytes
    }
}
let end = clock.now
workers?.shutdown()  // reaps the workers, so that time(1) counts their CPU
let total = results.withLock { $0 }
for line in total.infected.sorted() { print("infected: \(line)") }
for line in total.errors.sorted() { print("error: \(line)") }
print("threads=\(options.threads)")
print("processes=\(options.processes)")
print("files=\(work.count)")
print("bytes=\(total.bytes)")
print("clean=\(total.clean)")
print("infected=\(total.infected.count)")
print("errors=\(total.errors.count)")
print("scan_seconds=\(seconds(end - scanStart))")
print("total_seconds=\(seconds(end - start))")
print("peak_rss_bytes=\(memory().peak)")
