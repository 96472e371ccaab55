// clamd_bench: scans every regular file under a directory through clamd with ScanCore's
// ClamdClient, N connections at once, and prints key=value results. Used by
// Benchmarks/clamd-scan.sh; not installed.
//
//   clamd_bench --socket PATH [--mode fildes|instream] [--concurrency N] [--no-session] DIR
//   clamd_bench --socket PATH --wait SECONDS      (wait until clamd answers PONG)
#if canImport(Glibc)
import Glibc
#endif
import Dispatch
import ScanCore
import Synchronization

/// Writes a line to stderr.
func printError(_ message: String) {
    var line = "clamd_bench: \(message)\n"
    line.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
}

func fail(_ message: String) -> Never {
    printError(message)
    exit(2)
}

var socketPath: String?
var mode = "fildes"
var concurrency = 4
var useSession = true
var waitSeconds: Double?
var directory: String?
var arguments = CommandLine.arguments.dropFirst()
while let argument = arguments.popFirst() {
    switch argument {
    case "--socket": socketPath = arguments.popFirst()
    case "--mode": mode = arguments.popFirst() ?? ""
    case "--concurrency": concurrency = Int(arguments.popFirst() ?? "") ?? 0
    case "--no-session": useSession = false
    case "--wait": waitSeconds = Double(arguments.popFirst() ?? "")
    case "-h", "--help":
        print("usage: clamd_bench --socket PATH [--mode fildes|instream] [--concurrency N] [--no-session] DIR")
        print("       clamd_bench --socket PATH --wait SECONDS")
        exit(0)
    default:
        if argument.hasPrefix("-") { fail("unknown option \(argument)") }
        directory = argument
    }
}
guard let socketPath else { fail("--socket PATH is required") }
let endpoint: ClamdEndpoint
do { endpoint = try ClamdEndpoint(parsing: socketPath) } catch { fail(error.message) }
let client = ClamdClient(endpoint: endpoint)

if let waitSeconds {
    let deadline = MonotonicClock.now() + waitSeconds
    while true {
        do {
            try client.ping()
            exit(0)
        } catch {
            if MonotonicClock.now() > deadline { fail("clamd did not answer PING within \(waitSeconds) s: \(error)") }
            usleep(50_000)
        }
    }
}

guard mode == "fildes" || mode == "instream" else { fail("--mode must be fildes or instream") }
guard concurrency > 0 else { fail("--concurrency must be a positive number") }
guard let directory else { fail("a directory to scan is required") }

/// Regular files under `path`, depth first, sorted by name.
func regularFiles(under path: String) -> [(path: String, size: Int)] {
    guard let dir = opendir(path) else { fail("cannot open \(path): \(String(cString: strerror(errno)))") }
    var names: [String] = []
    while let entry = readdir(dir) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
        if name != "." && name != ".." { names.append(name) }
    }
    closedir(dir)
    var files: [(String, Int)] = []
    for name in names.sorted() {
        let child = path + "/" + name
        var info = stat()
        guard lstat(child, &info) == 0 else { continue }
        switch info.st_mode & S_IFMT {
        case S_IFDIR: files += regularFiles(under: child)
        case S_IFREG: files.append((child, Int(info.st_size)))
        default: break
        }
    }
    return files
}

let files = regularFiles(under: directory)
let totalBytes = files.reduce(0) { $0 + $1.size }

struct Tally {
    var next = 0
    var clean = 0
    var infected = 0
    var errors = 0
    var failures: [String] = []
}
let tally = Mutex(Tally())

let scanMode = mode
let sessions = useSession
let start = MonotonicClock.now()
DispatchQueue.concurrentPerform(iterations: concurrency) { _ in
    let session: ClamdSession?
    do { session = sessions ? try client.session() : nil } catch { fail("cannot open a session: \(error)") }
    defer { session?.close() }
    while true {
        let index = tally.withLock { tally -> Int in
            defer { tally.next += 1 }
            return tally.next
        }
        guard index < files.count else { return }
        let path = files[index].path
        let result: Result<ScanVerdict, ClamdError>
        if let session {
            result = Result { () throws(ClamdError) in
                scanMode == "fildes" ? try session.scanFildes(path: path) : try session.scanInstream(path: path)
            }
        } else {
            result = Result { () throws(ClamdError) in
                scanMode == "fildes" ? try client.scanFildes(path: path) : try client.scanInstream(path: path)
            }
        }
        tally.withLock { tally in
            switch result {
            case .success(.clean): tally.clean += 1
            case .success(.infected): tally.infected += 1
            case .success(.error(let message)):
                tally.errors += 1
                tally.failures.append("\(path): \(message)")
            case .failure(let error):
                tally.errors += 1
                tally.failures.append("\(path): \(error)")
            }
        }
    }
}
let seconds = MonotonicClock.now() - start

let final = tally.withLock { $0 }
for failure in final.failures.prefix(10) { printError(failure) }
print("mode=\(mode)")
print("session=\(useSession)")
print("concurrency=\(concurrency)")
print("files=\(files.count)")
print("bytes=\(totalBytes)")
print("clean=\(final.clean)")
print("infected=\(final.infected)")
print("errors=\(final.errors)")
print("seconds=\(seconds)")
print("files_per_second=\(Double(files.count) / seconds)")
