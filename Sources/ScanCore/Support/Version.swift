public enum ScanCoreVersion { public static let string = "0.1.0" }
