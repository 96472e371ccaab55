import ArgumentParser

extension CheckVirusScan {
    /// The remediation commands of issue 5, registered in `remediation` with one line.
    static var remediationIssue5: [any ParsableCommand.Type] {
        [Drain.self, Scan.self, DbInfo.self, ClamdStatus.self, RestartClamd.self, IgnoreSignature.self]
    }
}
