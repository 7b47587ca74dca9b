import CExperiture
import Foundation

/// The Experiture SDK for Swift: capture profile data offline, deliver it to the CDP.
///
/// ```swift
/// var config = ExperitureConfig(storagePath: appSupport.appendingPathComponent("experiture.db").path)
/// config.tokenProvider = { refresh in backend.token(refresh: refresh) }
/// let sdk = try Experiture(config: config)
/// try sdk.upsert("profiles", record: ["email": "ada@example.com", "tier": "gold"], matchKey: "email")
/// ```
///
/// Thread-safe. Calls return at once (they never touch disk or network) except those named as
/// waiting: `persist`, `flush`, `close`, dead letters. Bad input throws `ExperitureError`
/// carrying the SDK status; nothing the SDK accepted before is lost because of it. After
/// `close()` every call throws `.closed`. Requests go through `URLSessionHttpClient` unless the
/// config names another transport.
public final class Experiture: @unchecked Sendable {
  /// Default wait of `close()` and deinit.
  public static let defaultCloseTimeoutMs: Int64 = 5000

  // The C client is thread-safe; it is freed only in deinit, when no call can be running.
  private let client: OpaquePointer

  /// The SDK version, e.g. "0.1.0".
  public static var version: String { String(cString: experiture_version()) }

  /// Opens (creates, migrates) the outbox and starts delivery. Waits for the disk.
  /// Throws `.invalidConfig` (the message names the field) or `.storageError`.
  public init(config: ExperitureConfig) throws {
    let cConfig = try config.makeCConfig()
    defer { experiture_config_free(cConfig) }
    var handle: OpaquePointer?
    try check(experiture_client_open(cConfig, &handle))
    guard let opened = handle else { throw ExperitureError(.internal, message: "no client") }
    client = opened
  }

  deinit {
    experiture_client_free(client)
  }

  // MARK: writes

  /// Accepts an upsert of a JSON object (text) keyed by its field `matchKey`.
  public func upsert(_ object: String, json: String, matchKey: String) throws {
    var record = json
    var key = matchKey
    try check(withText(object) { o, ol in
      record.withUTF8 { r in
        key.withUTF8 { k in
          experiture_client_upsert(client, o, ol, chars(r), r.count, chars(k), k.count)
        }
      }
    })
  }

  /// Accepts an upsert of `record` (JSONSerialization types) keyed by its field `matchKey`.
  public func upsert(_ object: String, record: [String: Any], matchKey: String) throws {
    try upsert(object, json: Experiture.json(record), matchKey: matchKey)
  }

  /// Accepts an event row (never merged by the server), JSON object text.
  public func append(_ object: String, json: String) throws {
    var record = json
    try check(withText(object) { o, ol in
      record.withUTF8 { r in experiture_client_append(client, o, ol, chars(r), r.count) }
    })
  }

  public func append(_ object: String, record: [String: Any]) throws {
    try append(object, json: Experiture.json(record))
  }

  // MARK: identity and consent

  /// Links this device to a user; at least one identifier. Throws `.invalidEmail`,
  /// `.invalidPhone`, `.invalidArgument` (none given).
  public func login(email: String? = nil, customerId: String? = nil, phone: String? = nil) throws {
    try check(withOptionalText(email) { e, el in
      withOptionalText(customerId) { c, cl in
        withOptionalText(phone) { p, pl in experiture_client_login(client, e, el, c, cl, p, pl) }
      }
    })
  }

  /// Ends the user session (by default clears the push token on the user's profile and starts a
  /// new anonymous device_id).
  public func logout() throws {
    try check(experiture_client_logout(client))
  }

  /// The APNs/FCM token as text (hex for APNs device tokens).
  public func setPushToken(_ token: String) throws {
    try check(withText(token) { experiture_client_set_push_token(client, $0, $1) })
  }

  public func setConsent(_ consent: Consent) throws {
    try check(experiture_client_set_consent(client, experiture_consent_t(rawValue: consent.rawValue)))
  }

  public func consent() throws -> Consent {
    var value = experiture_consent_t(rawValue: 0)
    try check(experiture_client_consent(client, &value))
    return Consent(rawValue: value.rawValue) ?? .unknown
  }

  /// The current device_id (a new one after logout by default).
  public func deviceId() throws -> String {
    try ownedText { experiture_client_device_id(client, $0, $1) }
  }

  // MARK: waiting calls

  /// Waits until every write accepted before the call is durable: `.ok` or `.timeout`.
  @discardableResult
  public func persist(timeoutMs: Int64) throws -> ExperitureStatus {
    try waited(experiture_client_persist(client, timeoutMs))
  }

  /// Waits until every write accepted before the call is delivered or dead-lettered: `.ok`,
  /// `.timeout`, or `.paused` when delivery cannot progress (`stats()` says why).
  @discardableResult
  public func flush(timeoutMs: Int64) throws -> ExperitureStatus {
    try waited(experiture_client_flush(client, timeoutMs))
  }

  /// Persists (waiting at most `timeoutMs`) and stops. Idempotent. `.timeout` when not every
  /// write became durable in time (they stay in memory until the object is released).
  @discardableResult
  public func close(timeoutMs: Int64 = Experiture.defaultCloseTimeoutMs) throws -> ExperitureStatus {
    try waited(experiture_client_close(client, timeoutMs))
  }

  /// Manual mode only: does all due work on the calling thread.
  public func pump() throws {
    try check(experiture_client_pump(client))
  }

  // MARK: lifecycle and connectivity hints (never block)

  /// The app went to the background: delivery flushes now.
  public func onBackground() throws { try check(experiture_client_on_background(client)) }
  /// The app came to the foreground.
  public func onForeground() throws { try check(experiture_client_on_foreground(client)) }
  /// Connectivity changed (NWPathMonitor); offline pauses delivery.
  public func setOnline(_ online: Bool) throws {
    try check(experiture_client_set_online(client, online ? 1 : 0))
  }
  public func pause() throws { try check(experiture_client_pause(client)) }
  public func resume() throws { try check(experiture_client_resume(client)) }

  // MARK: health and dead letters

  /// A health snapshot as JSON text (fields of experiture_client_stats).
  public func statsJSON() throws -> String {
    try ownedText { experiture_client_stats(client, $0, $1) }
  }

  /// The health snapshot as a dictionary (queued_records, delivered, pause_reason, ...).
  public func stats() throws -> [String: Any] {
    try Experiture.object(statsJSON()) as? [String: Any] ?? [:]
  }

  /// At most `limit` dead letters, oldest first, as a JSON array. Waits for the store thread.
  public func deadLettersJSON(limit: Int = 100) throws -> String {
    try ownedText { experiture_client_dead_letters(client, max(limit, 0), $0, $1) }
  }

  /// Dead letters as dictionaries {id, object, match_key, record, http_status, code, message,
  /// correlation_id, failed_at_ms}.
  public func deadLetters(limit: Int = 100) throws -> [[String: Any]] {
    try Experiture.object(deadLettersJSON(limit: limit)) as? [[String: Any]] ?? []
  }

  /// Re-queues every dead letter at the end of the outbox. Waits for the store thread.
  public func retryDeadLetters() throws { try check(experiture_client_retry_dead_letters(client)) }
  /// Deletes every dead letter. Waits for the store thread.
  public func purgeDeadLetters() throws { try check(experiture_client_purge_dead_letters(client)) }

  // MARK: marshalling

  private func waited(_ status: experiture_status_t) throws -> ExperitureStatus {
    switch status {
    case EXPERITURE_OK: return .ok
    case EXPERITURE_TIMEOUT: return .timeout
    case EXPERITURE_PAUSED: return .paused
    default: throw ExperitureError.last(status)
    }
  }

  private func ownedText(
    _ call: (UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>, UnsafeMutablePointer<Int>)
      -> experiture_status_t
  ) throws -> String {
    var out: UnsafeMutablePointer<CChar>?
    var length = 0
    try check(call(&out, &length))
    defer { experiture_string_free(out) }
    return decodeUTF8(out, length)
  }

  static func json(_ record: [String: Any]) throws -> String {
    guard JSONSerialization.isValidJSONObject(record) else {
      throw ExperitureError(.invalidJSON, message: "record: not representable as JSON")
    }
    let data = try JSONSerialization.data(withJSONObject: record, options: [.withoutEscapingSlashes])
    return String(decoding: data, as: UTF8.self)
  }

  private static func object(_ json: String) throws -> Any {
    try JSONSerialization.jsonObject(with: Data(json.utf8), options: [.fragmentsAllowed])
  }
}

private func chars(_ bytes: UnsafeBufferPointer<UInt8>) -> UnsafePointer<CChar>? {
  bytes.baseAddress.map { UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self) }
}

/// Runs `body` with `string` as UTF-8 pointer + length.
func withText<R>(_ string: String, _ body: (UnsafePointer<CChar>?, Int) -> R) -> R {
  var copy = string
  return copy.withUTF8 { body(chars($0), $0.count) }
}

/// As `withText`; nil is passed as (NULL, 0), the C API's "absent".
func withOptionalText<R>(_ string: String?, _ body: (UnsafePointer<CChar>?, Int) -> R) -> R {
  guard let string = string else { return body(nil, 0) }
  return withText(string, body)
}
