import CExperiture

/// The SDK's status codes (experiture_status_t): stable values and names, append-only.
public enum ExperitureStatus: Int32, Sendable, CaseIterable {
  case ok = 0
  case invalidArgument = 1
  case invalidJSON = 2
  case recordNotObject = 3
  case recordEmpty = 4
  case matchKeyMissing = 5
  case matchKeyNull = 6
  case matchKeyNotString = 7
  case matchKeyNotIdentity = 8
  case recordTooLarge = 9
  case invalidEmail = 10
  case invalidPhone = 11
  case timestampWithoutZone = 12
  case queueFull = 13
  case consentDenied = 14
  case closed = 15
  case timeout = 16
  case storageError = 17
  case storageFull = 18
  case storageRecovered = 19
  case notFound = 20
  case invalidConfig = 21
  case networkError = 22
  case unauthorized = 23
  case forbidden = 24
  case paused = 25
  case rejected = 26
  case wrongState = 27
  case `internal` = 28

  /// The stable upper-case name, e.g. "RECORD_NOT_OBJECT".
  public var name: String { ExperitureStatus.name(ofCode: rawValue) }

  /// The stable name of any code, "UNKNOWN" for codes this version does not know.
  public static func name(ofCode code: Int32) -> String {
    String(cString: experiture_status_name(experiture_status_t(rawValue: UInt32(bitPattern: code))))
  }
}

/// A failed SDK call, carrying the SDK status and the SDK's message (which names the field and
/// the rule for bad input). Match on the status:
///
/// ```swift
/// do { try sdk.upsert("profiles", json: text, matchKey: "email") }
/// catch ExperitureError.status(.invalidEmail, let message) { showFormError(message) }
/// catch ExperitureError.status(.queueFull, _) { retryLater() }
/// ```
public enum ExperitureError: Error, Sendable, CustomStringConvertible, Equatable {
  /// The call failed with `status` (never `.ok`).
  case status(ExperitureStatus, message: String)
  /// A status code newer than this binding (the C library is newer than the Swift wrapper).
  case unknownStatus(code: Int32, message: String)

  public init(code: Int32, message: String) {
    if let status = ExperitureStatus(rawValue: code) {
      self = .status(status, message: message)
    } else {
      self = .unknownStatus(code: code, message: message)
    }
  }

  public init(_ status: ExperitureStatus, message: String) {
    self = .status(status, message: message)
  }

  /// nil when the code is newer than this binding.
  public var status: ExperitureStatus? {
    if case .status(let status, _) = self { return status }
    return nil
  }

  /// The C status code.
  public var code: Int32 {
    switch self {
    case .status(let status, _): return status.rawValue
    case .unknownStatus(let code, _): return code
    }
  }

  /// The stable upper-case name, e.g. "INVALID_EMAIL" ("UNKNOWN" for unknown codes).
  public var name: String { ExperitureStatus.name(ofCode: code) }

  /// The SDK's message; names the field and the rule for bad input.
  public var message: String {
    switch self {
    case .status(_, let message), .unknownStatus(_, let message): return message
    }
  }

  public var description: String { message.isEmpty ? name : "\(name): \(message)" }

  /// The error of the C call that just returned `status` on this thread.
  static func last(_ status: experiture_status_t) -> ExperitureError {
    var length = 0
    let message = experiture_last_error(&length)
    return ExperitureError(code: Int32(bitPattern: status.rawValue),
                           message: decodeUTF8(message, length))
  }
}

/// Throws the thread's last error unless `status` is OK.
@inline(__always)
func check(_ status: experiture_status_t) throws {
  if status != EXPERITURE_OK { throw ExperitureError.last(status) }
}

/// A Swift String from C bytes (ptr + length, UTF-8; invalid sequences repaired).
func decodeUTF8(_ bytes: UnsafePointer<CChar>?, _ length: Int) -> String {
  guard let bytes = bytes, length > 0 else { return "" }
  return bytes.withMemoryRebound(to: UInt8.self, capacity: length) {
    String(decoding: UnsafeBufferPointer(start: $0, count: length), as: UTF8.self)
  }
}
