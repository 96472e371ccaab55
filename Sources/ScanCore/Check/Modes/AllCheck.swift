/// `all`: several modes in one run; the worst state wins, line 1 names the modes that are not OK,
/// and the long output has one line per mode. Perfdata is the union (first label wins).
public enum AllCheck {
    public static func combine(_ parts: [(mode: String, report: CheckReport)]) -> CheckReport {
        var report = CheckReport()
        var seen = Set<String>()
        var okModes: [String] = []
        for (mode, part) in parts {
            let state = part.state
            if state == .ok {
                okModes.append(mode)
            } else {
                report.results.append(CheckResult(state, "\(mode): \(part.summary)"))
            }
            report.details.append("[\(state)] \(mode): \(part.summary)")
            for datum in part.perfdata where seen.insert(datum.label).inserted { report.perfdata.append(datum) }
        }
        if !okModes.isEmpty {
            report.results.append(CheckResult(.ok, "\(okModes.count) of \(parts.count) OK (\(okModes.joined(separator: ", ")))"))
        }
        return report
    }
}
