/// Which engine a command uses.
public enum EngineChoice: String, Sendable, CaseIterable {
    /// clamd when one answers PING, else libclamav in-process.
    case auto
    case clamd
    case libclamav
}

/// Builds the scanner a command asked for.
public enum ScannerFactory {
    /// - Parameters:
    ///   - endpoints: the clamd endpoints (`--socket`, `--tcp …`); TCP ones are used when given.
    ///   - processes: for libclamav, the number of worker processes forked from the loaded engine
    ///     (the command's `--jobs`); 0 scans in the calling threads instead.
    ///   - scanTimeout: per file, for clamd and for libclamav workers.
    ///   - notes: receives one line per decision (which engine, why), for verbose output.
    public static func make(choice: EngineChoice, endpoints: [ClamdEndpoint], databaseDirectory: String,
                            limits: ScanLimits = .default, scanTimeout: Duration = .seconds(120), processes: Int = 0,
                            notes: (String) -> Void = { _ in }) throws(ScanningError) -> any FileScanner {
        let timeouts = ClamdClient.Timeouts(connect: .seconds(2), command: .seconds(10), scan: scanTimeout)
        switch choice {
        case .libclamav:
            return try loadEngine(databaseDirectory, limits: limits, processes: processes, scanTimeout: scanTimeout)
        case .clamd:
            // Fails fast when none answers: a drain that can scan nothing should say so at once.
            var errors: [String] = []
            var live: [ClamdEndpoint] = []
            for endpoint in endpoints {
                do {
                    _ = try ClamdClient(endpoint: endpoint, timeouts: timeouts).ping()
                    live.append(endpoint)
                } catch { errors.append("\(endpoint): \(error.message)") }
            }
            guard !live.isEmpty else {
                throw ScanningError(.engineUnavailable, "clamd does not answer PING (\(errors.joined(separator: "; "))); start it (restart-clamd) or use --engine libclamav")
            }
            for error in errors { notes("clamd left out: \(error)") }
            // Keep the silent ones too: they may come back during a long drain.
            return ClamdScanner(endpoints: live + endpoints.filter { !live.contains($0) }, timeouts: timeouts)
        case .auto:
            var live: [ClamdEndpoint] = []
            for endpoint in endpoints {
                do {
                    _ = try ClamdClient(endpoint: endpoint, timeouts: timeouts).ping()
                    live.append(endpoint)
                } catch { notes("clamd at \(endpoint) does not answer: \(error.message)") }
            }
            if !live.isEmpty { return ClamdScanner(endpoints: live, timeouts: timeouts) }
            notes("no clamd answers PING: loading the databases in \(databaseDirectory) in-process")
            return try loadEngine(databaseDirectory, limits: limits, processes: processes, scanTimeout: scanTimeout)
        }
    }

    private static func loadEngine(_ directory: String, limits: ScanLimits, processes: Int, scanTimeout: Duration)
        throws(ScanningError) -> LibClamAVScanner
    {
        let engine: ClamAVEngine
        do {
            engine = try ClamAVEngine(databaseDirectory: directory, limits: limits)
        } catch {
            throw ScanningError(.engineUnavailable, "cannot load the signature databases in \(directory): \(error)", cause: error)
        }
        guard processes > 0 else { return LibClamAVScanner(engine: engine) }
        do {
            return try LibClamAVScanner(engine: engine, processes: processes, scanTimeout: scanTimeout)
        } catch {
            throw ScanningError(.engineUnavailable, "cannot start \(processes) scanning processes: \(error)", cause: error)
        }
    }
}
