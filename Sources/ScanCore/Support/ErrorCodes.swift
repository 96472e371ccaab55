/// ScanCore's error vocabulary, every code in one place: first the codes several subsystems raise
/// (defined once for every domain), then each subsystem's own, one section per error type.
///
/// A code's text is what logs show (`code: …` in `detailedDescription`) and what a log search
/// keys on: it is unique within its domain and never changes once released. The error files
/// (`CheckError.swift`, `ClamdError.swift`, …) hold the types and how each failure is mapped to
/// a code and a message; a new code is one line here, with its doc comment.

// MARK: - Shared: the codes more than one subsystem raises, defined once for every domain
extension ErrorCode {
    /// A file-system or socket call failed (the cause is the ``Errno``).
    public static var io: Self { Self("I/O error") }
    /// An argument is invalid: a command-line value that does not parse or make sense, a
    /// malformed signature name, an `--owner` that does not resolve.
    public static var invalidArgument: Self { Self("invalid argument") }
    /// A time limit ran out: the plugin's own, or a DNS answer that did not come.
    public static var timeout: Self { Self("timeout") }
    /// A child command could not be started.
    public static var commandFailed: Self { Self("command failed") }
    /// No scanning engine could be set up (clamd unreachable and libclamav failed to load), or
    /// its database version could not be read.
    public static var engineUnavailable: Self { Self("engine unavailable") }
    /// Another process holds the lock (of a queue, of the rescan): nothing was touched.
    public static var lockHeld: Self { Self("lock held") }
    /// The lock file could not be created or opened.
    public static var lockUnavailable: Self { Self("lock unavailable") }
}

// MARK: - ``CheckError``: the check itself
extension ErrorCode where Domain == CheckErrorDomain {
    /// A threshold range that is not Monitoring Plugins range syntax.
    public static var invalidRange: Self { Self("invalid range") }
    /// A duration (`90s`, `10m`, `2h`, `1d`) that does not parse.
    public static var invalidDuration: Self { Self("invalid duration") }
    /// Something the mode needs is not there (a state file, a database).
    public static var unavailable: Self { Self("unavailable") }
}

// MARK: - ``ClamdError``: talking to clamd
extension ErrorCode where Domain == ClamdErrorDomain {
    /// The endpoint text does not parse, or a unix socket path is too long.
    public static var invalidEndpoint: Self { Self("invalid endpoint") }
    /// The unix socket file does not exist: clamd is not running, or LocalSocket differs.
    public static var socketMissing: Self { Self("socket missing") }
    /// Nothing listens on the socket or port (a stale socket file, clamd stopped).
    public static var connectionRefused: Self { Self("connection refused") }
    /// The socket exists but this user may not connect to it.
    public static var permissionDenied: Self { Self("permission denied") }
    /// The deadline passed: connecting, or waiting for a daemon that accepted and never answered.
    public static var timedOut: Self { Self("timed out") }
    /// clamd closed the connection before its reply was complete (or without replying).
    public static var connectionClosed: Self { Self("connection closed") }
    /// The reply is not what clamd sends for the command.
    public static var malformedReply: Self { Self("malformed reply") }
    /// clamd answered `COMMAND UNAVAILABLE`: the operator disabled the command (ClamAV 1.5's
    /// `EnableStatsCommand no`, `EnableVersionCommand no`, `EnableReloadCommand no`). clamd is up.
    public static var commandDisabled: Self { Self("command disabled") }
    /// The command cannot be used on this endpoint (FILDES over TCP).
    public static var unsupported: Self { Self("unsupported") }
}

// MARK: - ``PipelineError``: the pipeline on disk and its layout file
extension ErrorCode where Domain == PipelineError {
    /// The queue directory does not exist: the pipeline is broken (the check reports CRITICAL).
    public static var queueMissing: Self { Self("queue missing") }
    /// The queue directory exists but cannot be opened or read (the check reports UNKNOWN).
    public static var queueUnreadable: Self { Self("queue unreadable") }
    /// The path exists but is not a directory.
    public static var notADirectory: Self { Self("not a directory") }
    /// The configuration file is missing, unreadable or malformed.
    public static var invalidConfig: Self { Self("invalid configuration") }
    /// A queue name was asked for that the layout does not define.
    public static var unknownQueue: Self { Self("unknown queue") }
}

// MARK: - ``RescanError``: rescan-clean
extension ErrorCode where Domain == RescanErrorDomain {
    /// A clean tree (or its infected tree's parent) does not exist or cannot be opened.
    public static var treeMissing: Self { Self("tree missing") }
    /// The state file cannot be written (its directory is missing or read-only).
    public static var stateUnwritable: Self { Self("state unwritable") }
    /// The state file does not parse or does not describe these trees (an unknown format,
    /// negative or impossible counters, a checkpoint that is no path of its tree): not trusted.
    public static var stateInvalid: Self { Self("state invalid") }
}

// MARK: - ``SignatureDatabaseError``: database headers, directories, ignore lists
extension ErrorCode where Domain == SignatureDatabaseError {
    /// The file is shorter than the 512-byte CVD/CLD header.
    public static var truncatedHeader: Self { Self("truncated header") }
    /// The header does not start with `ClamAV-VDB:`: not a ClamAV database container.
    public static var notAHeader: Self { Self("not a database header") }
    /// The header starts with `ClamAV-VDB:` but a field is missing or not of its type.
    public static var malformedHeader: Self { Self("malformed header") }
    /// The database directory cannot be opened or read.
    public static var directoryUnreadable: Self { Self("directory unreadable") }
    /// A database file cannot be opened or read.
    public static var fileUnreadable: Self { Self("file unreadable") }
    /// A signature name cannot be written to an ignore list (empty, or with `:`, spaces or
    /// control characters).
    public static var invalidSignatureName: Self { Self("invalid signature name") }
}

// MARK: - ``ClamAVError``: libclamav
extension ErrorCode where Domain == ClamAVError {
    /// `cl_init` or `cl_engine_new` failed.
    public static var initialisation: Self { Self("initialisation failed") }
    /// A database file is corrupt or holds a bad signature line (`CL_EMALFDB`, `CL_ECVD`,
    /// `CL_EVERIFY`, and `CL_EARG` for a malformed hash).
    public static var malformedDatabase: Self { Self("malformed database") }
    /// The database path cannot be opened, or the directory holds no database file
    /// (`CL_EOPEN`, `CL_ESTAT`, `CL_EACCES`).
    public static var databaseNotFound: Self { Self("database not found") }
    /// The directory loaded without error but holds no signatures.
    public static var noSignatures: Self { Self("no signatures") }
    /// `cl_engine_compile` failed.
    public static var compile: Self { Self("compile failed") }
    /// A scan limit was rejected by `cl_engine_set_num`.
    public static var invalidLimit: Self { Self("invalid limit") }
    /// libclamav ran out of memory (`CL_EMEM`).
    public static var memory: Self { Self("out of memory") }
    /// A ``ScanWorkerPool`` process could not be forked.
    public static var workerStart: Self { Self("scanning process not started") }
    /// Any other libclamav error.
    public static var other: Self { Self("libclamav error") }
}

// MARK: - ``DNSError``: the DNS TXT lookup of --upstream
extension ErrorCode where Domain == DNSErrorDomain {
    /// The server address does not parse.
    public static var badServer: Self { Self("bad server") }
    /// The query could not be sent.
    public static var unreachable: Self { Self("unreachable") }
    /// The answer is not a valid DNS message for the query.
    public static var malformed: Self { Self("malformed answer") }
    /// The name does not exist (NXDOMAIN).
    public static var nameError: Self { Self("no such name") }
    /// The server failed or refused (SERVFAIL, REFUSED, …).
    public static var serverFailure: Self { Self("server failure") }
    /// The name exists but has no TXT record.
    public static var noData: Self { Self("no TXT record") }
}
