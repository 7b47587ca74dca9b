import Foundation
#if canImport(os)
import os
#endif

/// The Swift binding's default logger: on Apple platforms the SDK's lines go to the unified log
/// (`os_log`, subsystem "com.experiture.sdk", category "sdk"); elsewhere the core's own logger
/// writes them to stderr. Either way at `ExperitureConfig.logLevel` ("off" logs nothing). The
/// lines never hold tokens or record values (the core never logs them), and are logged as
/// public strings for that reason.
enum PlatformLog {
  /// The lowest level logged, or nil for off. nil/"" reads EXPERITURE_LOG, else "warn"; an
  /// unknown configured level is refused by the core at open (INVALID_CONFIG naming log_level),
  /// an unknown environment value turns logging off, as in the core.
  static func threshold(_ configured: String?, environment: String?) -> LogLevel? {
    var level = configured ?? ""
    if level.isEmpty { level = (environment?.isEmpty ?? true) ? "warn" : environment! }
    switch level.lowercased() {
    case "debug": return .debug
    case "info": return .info
    case "warn": return .warn
    case "error": return .error
    default: return nil
    }
  }

  /// The os_log sink on Apple platforms; nil elsewhere (the core's stderr logger) or when off.
  static func defaultSink(_ configured: String?) -> LogSink? {
    #if canImport(os)
    let environment = ProcessInfo.processInfo.environment["EXPERITURE_LOG"]
    guard let threshold = threshold(configured, environment: environment) else { return nil }
    let log = OSLog(subsystem: "com.experiture.sdk", category: "sdk")
    return { level, message in
      guard level.rawValue >= threshold.rawValue else { return }
      let type: OSLogType
      switch level {
      case .debug: type = .debug
      case .info: type = .info
      case .warn: type = .default
      case .error: type = .error
      }
      os_log("%{public}@", log: log, type: type, message)
    }
    #else
    return nil
    #endif
  }
}
