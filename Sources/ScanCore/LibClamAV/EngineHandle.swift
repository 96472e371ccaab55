import CClamAV
import CClamAVWorker

#if canImport(Glibc)
import Glibc
#endif

/// The owner of one `struct cl_engine *`: created with `cl_engine_new`, freed with
/// `cl_engine_free` when the owner goes. Every call converts the returned `cl_error_t` into a
/// ``ClamAVError`` with `cl_strerror`'s text and what libclamav printed meanwhile.
///
/// Internal: the public ``ClamAVEngine`` is the only user. After `compile()` the engine is only
/// read, and libclamav allows any number of threads to scan with it at once (clamd does).
final class EngineHandle: @unchecked Sendable {
    let pointer: OpaquePointer

    /// The corresponding C function is `cl_engine_new`.
    init() throws(ClamAVError) {
        try LibClamAV.initialise()
        guard let pointer = LibClamAV.guarded({ cl_engine_new() }) else {
            throw ClamAVError(.initialisation, "cannot create a libclamav engine (cl_engine_new): out of memory")
        }
        self.pointer = pointer
        cl_engine_set_clcb_virus_found(pointer, virusFoundCallback)
    }

    deinit { LibClamAV.guarded { _ = cl_engine_free(pointer) } }

    /// Sets a numeric field. The corresponding C function is `cl_engine_set_num`.
    func set(_ field: cl_engine_field, _ value: Int64, name: String) throws(ClamAVError) {
        let capture = MessageCapture.begin()
        let rc = LibClamAV.guarded { cl_engine_set_num(pointer, field, value) }
        let messages = MessageCapture.end(capture)
        if rc != CL_SUCCESS {
            throw LibClamAV.error(.invalidLimit, "cannot set \(name) to \(value)", rc, messages)
        }
    }

    /// Reads a numeric field. The corresponding C function is `cl_engine_get_num`.
    func get(_ field: cl_engine_field) -> Int64 {
        var err: Int32 = 0
        let value = LibClamAV.guarded { cl_engine_get_num(pointer, field, &err) }
        return err == 0 ? value : 0
    }

    /// Loads every database at `path` (a file or a directory) and returns the number of
    /// signatures loaded. The corresponding C function is `cl_load`.
    func load(_ path: String, options: UInt32) throws(ClamAVError) -> (signatures: Int, warnings: [String]) {
        var signatures: UInt32 = 0
        let capture = MessageCapture.begin()
        let rc = LibClamAV.guarded { cl_load(path, pointer, &signatures, options) }
        let messages = MessageCapture.end(capture)
        if rc != CL_SUCCESS {
            let errors = messages.filter { !$0.hasPrefix("warning: ") }
            throw LibClamAV.error(
                LibClamAV.loadCode(rc), "cannot load signature database \(path)", rc, errors.isEmpty ? messages : errors)
        }
        return (Int(signatures), messages)
    }

    /// Compiles the loaded signatures; the engine can scan afterwards. The corresponding C
    /// function is `cl_engine_compile`.
    func compile() throws(ClamAVError) {
        let capture = MessageCapture.begin()
        let rc = LibClamAV.guarded { cl_engine_compile(pointer) }
        let messages = MessageCapture.end(capture)
        if rc != CL_SUCCESS { throw LibClamAV.error(.compile, "cannot compile the signature database", rc, messages) }
    }

    /// The outcome of one `cl_scandesc` call.
    enum ScanOutcome {
        case clean
        case virus(String)
        case failed(code: String, messages: [String])
    }

    /// Scans the open file `fd`. The corresponding C function is `cl_scandesc_callback`.
    ///
    /// Some alerts reach only the virus-found callback and leave `virname` unset (an over-size
    /// file is rejected before a scan context exists: `Heuristics.Limits.Exceeded.MaxFileSize`),
    /// so the callback's names are collected too.
    func scan(fd: Int32, name: String?, options: inout cl_scan_options) -> ScanOutcome {
        var virname: UnsafePointer<CChar>? = nil
        var scanned: UInt = 0
        let found = FoundNames()
        let context = Unmanaged.passUnretained(found).toOpaque()
        let capture = MessageCapture.begin()
        let rc: cl_error_t = withExtendedLifetime(found) {
            LibClamAV.guarded {
                if let name {
                    cl_scandesc_callback(fd, name, &virname, &scanned, pointer, &options, context)
                } else {
                    cl_scandesc_callback(fd, nil, &virname, &scanned, pointer, &options, context)
                }
            }
        }
        let messages = MessageCapture.end(capture)
        return Self.outcome(rc: Int32(bitPattern: rc.rawValue), virname: virname.map { String(cString: $0) },
                            lastFound: found.names.last, messages: messages)
    }

    /// The outcome of a `cl_scandesc_callback` that returned `rc` (a `cl_error_t`, or -1 for a
    /// failure before libclamav was called, described in `messages`).
    static func outcome(rc: Int32, virname: String?, lastFound: String?, messages: [String]) -> ScanOutcome {
        switch rc {
        case Int32(CL_CLEAN.rawValue): return .clean
        case Int32(CL_VIRUS.rawValue): return .virus(virname ?? lastFound ?? "unknown")
        default:
            let errors = messages.filter { !$0.hasPrefix("warning: ") }
            let code = rc < 0 ? "scan failed" : LibClamAV.text(cl_error_t(rawValue: UInt32(rc)))
            return .failed(code: code, messages: errors)
        }
    }
}

/// The names the virus-found callback reported during one scan (one scan runs on one thread).
private final class FoundNames {
    var names: [String] = []
}

/// The `clcb_virus_found` installed on every engine.
private let virusFoundCallback: @convention(c) (Int32, UnsafePointer<CChar>?, UnsafeMutableRawPointer?) -> Void = {
    _, virname, context in
    guard let virname, let context else { return }
    Unmanaged<FoundNames>.fromOpaque(context).takeUnretainedValue().names.append(String(cString: virname))
}
