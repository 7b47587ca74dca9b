import CExperiture
import Foundation

public enum Consent: UInt32, Sendable {
  case unknown = 0
  case granted = 1
  case denied = 2
}

/// Which HTTP stack delivers the SDK's requests.
public enum HttpTransport: Sendable {
  /// `URLSessionHttpClient` (the default): the platform's own stack.
  case urlSession
  /// Any `HttpClient`.
  case custom(HttpClient)
  /// The core's built-in libcurl client (Linux builds with curl only; honours the TLS options).
  case builtIn
}

/// The SDK configuration. Only `storagePath` is required; every nil/default field keeps the
/// core's default (experiture/config.hpp). A value type: set fields, then open `Experiture`.
/// The options are those of experiture/config_options.inc (a ctest keeps them equal).
public struct ExperitureConfig: Sendable {
  /// The outbox SQLite file (e.g. in Application Support).
  public var storagePath: String
  /// API base URL; nil: "https://api.experiture.ai/public/v1". http:// only to a loopback host.
  public var endpoint: String?
  /// DANGER, test rigs only: allows cleartext http:// to any host (in the core's check and in
  /// `.urlSession`), sending the bearer token and every record unencrypted. Never set it in an app.
  public var allowInsecureHttpForTesting = false
  /// A fixed bearer token (a token provider wins when both are set).
  public var token: String?
  public var tokenProvider: TokenProvider?
  public var deliveryListener: DeliveryListener?
  /// A log sink (lines never hold tokens or record values). nil: `os_log` on Apple platforms
  /// (subsystem "com.experiture.sdk"), stderr elsewhere, at `logLevel`.
  public var logger: LogSink?
  /// The default logger's level: "off", "error", "warn", "info" or "debug"; nil or "": the
  /// EXPERITURE_LOG environment variable, else "warn". Not applied to a `logger` you set.
  public var logLevel: String?
  /// The app's phone normaliser; nil: E.164 only (see `PhoneNormalizer`).
  public var phoneNormalizer: PhoneNormalizer?
  public var transport: HttpTransport = .urlSession

  public var batchSize: Int?
  public var flushIntervalMs: Int64?
  public var maxOutboxBytes: Int64?
  public var maxRecordBytes: Int?
  public var ingressCapacity: Int?
  public var ingressMaxBytes: Int?
  public var commitWindowMs: Int64?
  /// ISO 3166-1 alpha-2; nil: "US".
  public var defaultPhoneRegion: String?
  /// No SDK threads: the app calls `pump()`.
  public var manualMode = false
  public var initialConsent: Consent?
  public var profileObject: String?
  public var defaultIdentityKeys: [String]?
  /// Identity keys per object (overrides the default list for that object).
  public var identityKeys: [String: [String]] = [:]
  /// Written to the anonymous profile's `platform`; nil: "ios" on iOS, else the core's default.
  public var platformName: String?
  public var logoutClearsPushToken: Bool?
  public var logoutNewDeviceId: Bool?
  public var retryPolicy: (baseMs: Int64, factor: Double, capMs: Int64)?
  public var httpTimeoutMs: Int64?
  public var clockSkewThresholdMs: Int64?
  public var maxDeadLetters: Int?
  /// 32 raw bytes from the Keychain; seals payloads at rest.
  public var encryptionKey: Data?
  /// Key rotation: the key older rows were sealed with (keep it until the outbox drained).
  public var previousEncryptionKey: Data?
  /// Built-in transport only.
  public var tlsCaBundlePath: String?
  /// `"sha256//<base64>"` pins, `;`-separated: honoured by the built-in transport and by
  /// `.urlSession` (see `URLSessionHttpClient(pinnedPublicKeys:)`; on Linux every request then
  /// fails with `.pinning`, as FoundationNetworking cannot check them). A `.custom` client gets
  /// no pins from here.
  public var tlsPinnedPublicKeys: String?
  public var tlsProxy: String?

  public init(storagePath: String) {
    self.storagePath = storagePath
  }

  /// An experiture_config_t holding these settings (the caller frees it), or the SDK's error.
  func makeCConfig() throws -> OpaquePointer {
    var handle: OpaquePointer?
    try check(experiture_config_new(&handle))
    guard let config = handle else { throw ExperitureError(.internal, message: "no config") }
    do {
      try apply(config)
      return config
    } catch {
      experiture_config_free(config)
      throw error
    }
  }

  private func apply(_ c: OpaquePointer) throws {
    try text(storagePath) { experiture_config_set_storage_path(c, $0, $1) }
    if let v = endpoint { try text(v) { experiture_config_set_endpoint(c, $0, $1) } }
    if allowInsecureHttpForTesting {
      try check(experiture_config_set_allow_insecure_http_for_testing(c, 1))
    }
    if let v = token { try text(v) { experiture_config_set_token(c, $0, $1) } }
    if let v = batchSize { try check(experiture_config_set_batch_size(c, size(v))) }
    if let v = flushIntervalMs { try check(experiture_config_set_flush_interval_ms(c, v)) }
    if let v = maxOutboxBytes { try check(experiture_config_set_max_outbox_bytes(c, v)) }
    if let v = maxRecordBytes { try check(experiture_config_set_max_record_bytes(c, size(v))) }
    if let v = ingressCapacity { try check(experiture_config_set_ingress_capacity(c, size(v))) }
    if let v = ingressMaxBytes { try check(experiture_config_set_ingress_max_bytes(c, size(v))) }
    if let v = commitWindowMs { try check(experiture_config_set_commit_window_ms(c, v)) }
    if let v = defaultPhoneRegion {
      try text(v) { experiture_config_set_default_phone_region(c, $0, $1) }
    }
    if manualMode { try check(experiture_config_set_manual_mode(c, 1)) }
    if let v = initialConsent {
      try check(experiture_config_set_initial_consent(c, experiture_consent_t(rawValue: v.rawValue)))
    }
    if let v = profileObject { try text(v) { experiture_config_set_profile_object(c, $0, $1) } }
    if let v = defaultIdentityKeys {
      try text(jsonArray(v)) { experiture_config_set_default_identity_keys(c, $0, $1) }
    }
    for (object, keys) in identityKeys.sorted(by: { $0.key < $1.key }) {
      let keysJSON = try jsonArray(keys)
      try text(object, keysJSON) { experiture_config_set_identity_keys(c, $0, $1, $2, $3) }
    }
    if let v = platformName ?? ExperitureConfig.defaultPlatformName {
      try text(v) { experiture_config_set_platform_name(c, $0, $1) }
    }
    if let v = logoutClearsPushToken {
      try check(experiture_config_set_logout_clears_push_token(c, v ? 1 : 0))
    }
    if let v = logoutNewDeviceId {
      try check(experiture_config_set_logout_new_device_id(c, v ? 1 : 0))
    }
    if let v = retryPolicy {
      try check(experiture_config_set_retry_policy(c, v.baseMs, v.factor, v.capMs))
    }
    if let v = httpTimeoutMs { try check(experiture_config_set_http_timeout_ms(c, v)) }
    if let v = clockSkewThresholdMs {
      try check(experiture_config_set_clock_skew_threshold_ms(c, v))
    }
    if let v = maxDeadLetters { try check(experiture_config_set_max_dead_letters(c, size(v))) }
    if let v = encryptionKey {
      try check(v.withUnsafeBytes { experiture_config_set_encryption_key(c, $0.baseAddress, $0.count) })
    }
    if let v = previousEncryptionKey {
      try check(v.withUnsafeBytes {
        experiture_config_set_previous_encryption_key(c, $0.baseAddress, $0.count)
      })
    }
    if let v = logLevel { try text(v) { experiture_config_set_log_level(c, $0, $1) } }
    if let v = tlsCaBundlePath {
      try text(v) { experiture_config_set_tls_ca_bundle_path(c, $0, $1) }
    }
    if let v = tlsPinnedPublicKeys {
      try text(v) { experiture_config_set_tls_pinned_public_keys(c, $0, $1) }
    }
    if let v = tlsProxy { try text(v) { experiture_config_set_tls_proxy(c, $0, $1) } }

    // Each table's user_data is taken by the setter, also when it fails.
    switch transport {
    case .urlSession:
      var table = CallbackTables.httpClient(
        try URLSessionHttpClient(pinnedPublicKeys: tlsPinnedPublicKeys ?? "",
                                 allowInsecureHttpForTesting: allowInsecureHttpForTesting))
      try check(experiture_config_set_http_client(c, &table))
    case .custom(let client):
      var table = CallbackTables.httpClient(client)
      try check(experiture_config_set_http_client(c, &table))
    case .builtIn:
      break
    }
    if let v = tokenProvider {
      var table = CallbackTables.tokenProvider(v)
      try check(experiture_config_set_token_provider(c, &table))
    }
    if let v = deliveryListener {
      var table = CallbackTables.deliveryListener(v)
      try check(experiture_config_set_delivery_listener(c, &table))
    }
    if let v = logger ?? PlatformLog.defaultSink(logLevel) {
      var table = CallbackTables.logger(v)
      try check(experiture_config_set_logger(c, &table))
    }
    if let v = phoneNormalizer {
      var table = CallbackTables.phoneNormalizer(v)
      try check(experiture_config_set_phone_normalizer(c, &table))
    }
  }

  #if os(iOS)
  static let defaultPlatformName: String? = "ios"
  #elseif os(macOS)
  static let defaultPlatformName: String? = "macos"
  #else
  static let defaultPlatformName: String? = nil
  #endif
}

private func size(_ value: Int) throws -> Int {
  guard value >= 0 else { throw ExperitureError(.invalidArgument, message: "negative size") }
  return value
}

private func jsonArray(_ keys: [String]) throws -> String {
  let data = try JSONSerialization.data(withJSONObject: keys)
  return String(decoding: data, as: UTF8.self)
}

/// Calls a C setter with `string` as UTF-8 pointer + length and checks its status.
func text(_ string: String,
          _ call: (UnsafePointer<CChar>?, Int) throws -> experiture_status_t) throws {
  var copy = string
  let status = try copy.withUTF8 { bytes in
    try bytes.withMemoryRebound(to: CChar.self) { try call($0.baseAddress, $0.count) }
  }
  try check(status)
}

/// As `text` with two strings.
func text(_ first: String, _ second: String,
          _ call: (UnsafePointer<CChar>?, Int, UnsafePointer<CChar>?, Int) -> experiture_status_t)
  throws
{
  var a = first
  var b = second
  let status = a.withUTF8 { x in
    b.withUTF8 { y in
      x.withMemoryRebound(to: CChar.self) { xc in
        y.withMemoryRebound(to: CChar.self) { yc in
          call(xc.baseAddress, xc.count, yc.baseAddress, yc.count)
        }
      }
    }
  }
  try check(status)
}
