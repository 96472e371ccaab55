import CClamAV
import CClamAVWorker
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The process-wide side of libclamav: `cl_init` (once), the message callback, version strings,
/// and the conversion of `cl_error_t` into ``ClamAVError``. Internal: nothing here is public API.
enum LibClamAV {
    /// Runs `cl_init` once per process, after installing the message callback. The result is
    /// cached: a failure is reported to every caller.
    private static let initialisation: Result<Void, ClamAVError> = {
        cl_set_clcb_msg(messageCallback)
        let capture = MessageCapture.begin()
        let rc = guarded { cl_init(UInt32(CL_INIT_DEFAULT)) }
        let messages = MessageCapture.end(capture)
        if rc != CL_SUCCESS {
            return .failure(error(.initialisation, "cannot initialise libclamav (cl_init)", rc, messages))
        }
        return .success(())
    }()

    /// Initialises libclamav if it is not yet. The corresponding C function is `cl_init`.
    static func initialise() throws(ClamAVError) {
        try initialisation.get()
    }

    /// Runs `body`, a libclamav call, while no ``ScanWorkerPool`` can fork: a worker forked while
    /// another thread is inside libclamav could inherit one of libclamav's locks held forever.
    @inline(__always)
    static func guarded<T>(_ body: () throws(Never) -> T) -> T {
        vsw_guard_enter()
        defer { vsw_guard_leave() }
        return body()
    }

    /// The C function `cl_strerror`.
    static func text(_ rc: cl_error_t) -> String { guarded { String(cString: cl_strerror(rc)) } }

    /// An error for `rc` with libclamav's text and the messages it printed.
    static func error(_ code: ClamAVError.Code, _ what: String, _ rc: cl_error_t, _ messages: [String])
        -> ClamAVError
    {
        let text = text(rc)
        var message = "\(what): \(text)"
        if !messages.isEmpty { message += " (libclamav: " + messages.joined(separator: "; ") + ")" }
        return ClamAVError(code, message, libclamavError: text, libclamavMessages: messages)
    }

    /// The code for a `cl_error_t` returned while loading a database.
    static func loadCode(_ rc: cl_error_t) -> ClamAVError.Code {
        switch rc {
        // CL_EARG comes from a bad hash in a signature line (hm_addhash_str).
        case CL_EMALFDB, CL_ECVD, CL_EVERIFY, CL_EFORMAT, CL_EPARSE, CL_EARG: .malformedDatabase
        case CL_EOPEN, CL_ESTAT, CL_EACCES, CL_EREAD: .databaseNotFound
        case CL_EMEM: .memory
        default: .other
        }
    }
}

/// Collects what libclamav prints through its message callback, per thread: a call that wants
/// libclamav's detailed reasons (loading a database, scanning a file) brackets itself with
/// `begin`/`end` and gets the errors and warnings printed on its own thread in between. Messages
/// printed outside such a bracket are dropped (libclamav would otherwise write them to stderr).
enum MessageCapture {
    private static let buffers = Mutex<[UInt: [String]]>([:])

    /// A token for one bracket.
    struct Token {
        fileprivate let thread: UInt
        fileprivate let previous: [String]?
    }

    static func begin() -> Token {
        let thread = currentThreadID()
        let previous = buffers.withLock { buffers in
            let previous = buffers[thread]
            buffers[thread] = []
            return previous
        }
        return Token(thread: thread, previous: previous)
    }

    static func end(_ token: Token) -> [String] {
        buffers.withLock { buffers in
            let messages = buffers[token.thread] ?? []
            buffers[token.thread] = token.previous.map { $0 + messages }
            return messages
        }
    }

    static func record(_ message: String) {
        let thread = currentThreadID()
        buffers.withLock { buffers in
            if buffers[thread] != nil { buffers[thread]!.append(message) }
        }
    }
}

/// The `clcb_msg` installed with `cl_set_clcb_msg`: keeps errors and warnings, drops verbose
/// (debug) messages.
private let messageCallback: @convention(c) (
    cl_msg, UnsafePointer<CChar>?, UnsafePointer<CChar>?, UnsafeMutableRawPointer?
) -> Void = { severity, _, message, _ in
    guard severity.rawValue >= CL_MSG_WARN.rawValue, let message else { return }
    var text = String(cString: message)
    while let last = text.last, last == "\n" || last == " " { text.removeLast() }
    if severity == CL_MSG_WARN { text = "warning: " + text }
    MessageCapture.record(text)
}
