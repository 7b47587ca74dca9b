import Dispatch
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The platform HTTP stack for Apple platforms (and Linux through FoundationNetworking): an
/// `HttpClient` over one `URLSession`, so requests share its connection pool (keep-alive).
///
/// Every request completes exactly once: the first of (URLSession's answer, the request's total
/// timeout, `cancelAll`/`close`) removes it from the in-flight table under the lock and completes
/// it outside the lock; the later ones find it gone. Thread-safe.
///
/// Hostile networks: a response body longer than `maxResponseBodyBytes` completes with `.other`
/// (never handed on; URLSession itself buffers what it reads, so this caps what reaches the SDK,
/// not the transient memory of the read); a cleartext `http://` URL whose host is not loopback
/// (127.0.0.0/8, ::1, localhost) is refused with `.other` before connecting.
public final class URLSessionHttpClient: HttpClient, @unchecked Sendable {
  /// The most response body bytes handed on (8 MiB, as the core's kMaxResponseBodyBytes): the
  /// API's largest answer (per-record results for 10,000 records) is far smaller.
  public static let maxResponseBodyBytes = 8 << 20

  /// True for 127.0.0.0/8 in dotted-quad form, ::1 (with or without brackets) and localhost.
  public static func isLoopbackHost(_ host: String) -> Bool {
    if host.lowercased() == "localhost" || host == "::1" || host == "[::1]" { return true }
    let octets = host.split(separator: ".", omittingEmptySubsequences: false)
    guard octets.count == 4 else { return false }
    for (index, octet) in octets.enumerated() {
      guard (1...3).contains(octet.count), octet.allSatisfy({ $0 >= "0" && $0 <= "9" }),
            let value = Int(octet), value <= 255, index != 0 || value == 127 else { return false }
    }
    return true
  }

  private struct Pending {
    let task: URLSessionDataTask
    let completion: @Sendable (HttpResponse) -> Void
  }

  private let session: URLSession
  private let pins: PublicKeyPins?  // nil: no pinning
  private let allowInsecureHttp: Bool  // the loudly named test-rig opt-in
  #if canImport(Security) && canImport(CryptoKit)
  private let pinning: PinningDelegate?
  #endif
  private let lock = NSLock()
  private var inFlight: [UInt64: Pending] = [:]  // guarded by lock
  private var nextId: UInt64 = 0  // guarded by lock
  private var closed = false  // guarded by lock

  /// `configuration` is copied; caches and cookies are turned off (the SDK's requests are not
  /// cacheable and carry their own auth).
  public convenience init(configuration: URLSessionConfiguration = .ephemeral) {
    self.init(configuration: configuration, pins: nil, allowInsecureHttp: false)
  }

  /// As `init(configuration:)`, with public-key pins in curl's format (`"sha256//<base64>"`,
  /// `;`-separated; "" = none): the server's leaf certificate key must match one, checked in the
  /// session delegate's server-trust challenge after the system's own evaluation; a mismatch is
  /// `.pinning` and nothing is sent. Where URLSession offers no server trust to inspect
  /// (FoundationNetworking on Linux) every request fails with `.pinning`: pins are never
  /// silently ignored. Plain-HTTP URLs fail with `.pinning` too. Throws `.invalidConfig` for a
  /// malformed pin. `allowInsecureHttpForTesting`: DANGER, test rigs only: cleartext http:// to
  /// any host (the token and every record unencrypted); never set it in an app.
  public convenience init(configuration: URLSessionConfiguration = .ephemeral,
                          pinnedPublicKeys: String,
                          allowInsecureHttpForTesting: Bool = false) throws {
    let pins = try PublicKeyPins(parsing: pinnedPublicKeys)
    self.init(configuration: configuration, pins: pins.isEmpty ? nil : pins,
              allowInsecureHttp: allowInsecureHttpForTesting)
  }

  private init(configuration: URLSessionConfiguration, pins: PublicKeyPins?,
               allowInsecureHttp: Bool) {
    self.allowInsecureHttp = allowInsecureHttp
    // swiftlint:disable:next force_cast
    let config = configuration.copy() as! URLSessionConfiguration
    config.urlCache = nil
    config.requestCachePolicy = .reloadIgnoringLocalCacheData
    config.httpCookieStorage = nil
    config.httpShouldSetCookies = false
    self.pins = pins
    #if canImport(Security) && canImport(CryptoKit)
    let delegate = pins.map { PinningDelegate($0) }
    pinning = delegate
    session = URLSession(configuration: config, delegate: delegate, delegateQueue: nil)
    #else
    session = URLSession(configuration: config)
    #endif
  }

  deinit {
    close()
  }

  public func send(_ request: HttpRequest,
                   completion: @escaping @Sendable (HttpResponse) -> Void) {
    guard let url = URL(string: request.url) else {
      completion(HttpResponse(error: .other, message: "malformed URL"))
      return
    }
    if url.scheme?.lowercased() == "http" && !allowInsecureHttp
      && !URLSessionHttpClient.isLoopbackHost(url.host ?? "") {
      completion(HttpResponse(error: .other, message: "cleartext http:// is only allowed to a "
        + "loopback host (127.0.0.0/8, ::1, localhost); use https://"))
      return
    }
    if pins != nil {
      guard url.scheme?.lowercased() == "https" else {
        completion(HttpResponse(error: .pinning,
                                message: "public-key pins are set but the URL is not HTTPS"))
        return
      }
      guard PublicKeyPins.canCheck else {
        completion(HttpResponse(error: .pinning, message: "public-key pins are set but this"
          + " platform's URLSession (FoundationNetworking) cannot check them"))
        return
      }
    }
    var urlRequest = URLRequest(url: url)
    urlRequest.httpMethod = request.method
    urlRequest.httpBody = request.body
    // The timer below enforces timeout_ms for the whole exchange. URLSession's own timeout is an
    // idle timeout, and FoundationNetworking truncates it to whole seconds (0.3 s fires at once),
    // so it only backs the timer up.
    urlRequest.timeoutInterval = (Double(max(request.timeoutMs, 1)) / 1000).rounded(.up) + 1
    for header in request.headers {
      urlRequest.addValue(header.value, forHTTPHeaderField: header.name)
    }

    lock.lock()
    if closed {
      lock.unlock()
      completion(HttpResponse(error: .cancelled, message: "the HTTP client is closed"))
      return
    }
    nextId += 1
    let id = nextId
    let task = session.dataTask(with: urlRequest) { [weak self] data, response, error in
      self?.finishTask(id, data, response, error)
    }
    inFlight[id] = Pending(task: task, completion: completion)
    lock.unlock()

    // URLRequest.timeoutInterval is an idle timeout; the SDK's timeout is for the whole exchange.
    DispatchQueue.global().asyncAfter(
      deadline: .now() + .milliseconds(Int(clamping: max(request.timeoutMs, 1)))
    ) { [weak self] in
      self?.finish(id, HttpResponse(error: .timeout, message: "no response within the timeout"))
    }
    task.resume()
  }

  public func cancelAll() {
    completeAll(message: "cancelled")
  }

  /// Completes every request in flight with `.cancelled` before it returns; later sends complete
  /// at once with `.cancelled`. Idempotent; also run by deinit.
  public func close() {
    lock.lock()
    let first = !closed
    closed = true
    lock.unlock()
    completeAll(message: "the HTTP client is closed")
    if first { session.invalidateAndCancel() }
  }

  private func finishTask(_ id: UInt64, _ data: Data?, _ response: URLResponse?, _ error: Error?) {
    lock.lock()
    let taskIdentifier = inFlight[id]?.task.taskIdentifier
    lock.unlock()
    if let taskIdentifier = taskIdentifier, pinRefused(taskIdentifier) {
      finish(id, HttpResponse(error: .pinning, message: "the server's public key matches no pin"))
    } else if let data = data, data.count > URLSessionHttpClient.maxResponseBodyBytes {
      finish(id, HttpResponse(error: .other, message: "response body exceeds 8 MiB "
        + "(maxResponseBodyBytes): not an answer the API sends"))
    } else {
      finish(id, URLSessionHttpClient.response(data, response, error))
    }
  }

  private func pinRefused(_ taskIdentifier: Int) -> Bool {
    #if canImport(Security) && canImport(CryptoKit)
    return pinning?.takeRefusal(taskIdentifier) ?? false
    #else
    return false
    #endif
  }

  private func completeAll(message: String) {
    lock.lock()
    let pending = inFlight
    inFlight.removeAll()
    lock.unlock()
    for (_, request) in pending.sorted(by: { $0.key < $1.key }) {
      request.task.cancel()
      request.completion(HttpResponse(error: .cancelled, message: message))
    }
  }

  private func finish(_ id: UInt64, _ response: HttpResponse) {
    lock.lock()
    let pending = inFlight.removeValue(forKey: id)
    lock.unlock()
    guard let pending = pending else { return }  // completed already
    if response.error != .none { pending.task.cancel() }
    pending.completion(response)
  }

  private static func response(_ data: Data?, _ response: URLResponse?,
                               _ error: Error?) -> HttpResponse {
    if let error = error {
      return HttpResponse(error: transportError(error), message: describe(error))
    }
    guard let http = response as? HTTPURLResponse else {
      return HttpResponse(error: .other, message: "not an HTTP response")
    }
    var headers: [HttpHeader] = []
    for (name, value) in http.allHeaderFields {
      headers.append(HttpHeader(String(describing: name).lowercased(),
                                String(describing: value)))
    }
    return HttpResponse(status: http.statusCode, headers: headers, body: data ?? Data())
  }

  static func transportError(_ error: Error) -> TransportError {
    guard let urlError = error as? URLError else { return .other }
    switch urlError.code {
    case .cannotConnectToHost, .cannotFindHost, .dnsLookupFailed, .notConnectedToInternet,
         .internationalRoamingOff, .dataNotAllowed:
      return .connect
    case .timedOut:
      return .timeout
    case .networkConnectionLost, .badServerResponse, .zeroByteResource:
      return .reset
    case .cancelled:
      return .cancelled
    case .secureConnectionFailed, .serverCertificateHasBadDate, .serverCertificateUntrusted,
         .serverCertificateHasUnknownRoot, .serverCertificateNotYetValid,
         .clientCertificateRejected, .clientCertificateRequired:
      return .tls
    default:
      return .other
    }
  }

  // The code and the system's text only: never the request (its headers hold the token).
  private static func describe(_ error: Error) -> String {
    if let urlError = error as? URLError {
      return "URLError \(urlError.code.rawValue): \(urlError.localizedDescription)"
    }
    return String(describing: type(of: error))
  }
}
