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
/// Hostile networks: the body is read chunk by chunk through the session delegate and counted; a
/// response whose Content-Length or whose body passes `maxResponseBodyBytes` is cancelled at that
/// point and completes with `.other` instead of growing until the timeout. (On Linux,
/// FoundationNetworking keeps reading ahead of the delegate until the delegate's thread runs, so
/// what an endless response costs there depends on scheduling: 13 MB to 1.7 GB measured.) A
/// cleartext `http://` URL whose host is not loopback (127.0.0.0/8, ::1, localhost) is
/// refused with `.other` before connecting.
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

  /// A request in flight; `body` and `response` grow as the delegate reports them (under lock).
  private final class Pending {
    let task: URLSessionDataTask
    let completion: @Sendable (HttpResponse) -> Void
    var body = Data()
    var response: URLResponse?

    init(task: URLSessionDataTask, completion: @escaping @Sendable (HttpResponse) -> Void) {
      self.task = task
      self.completion = completion
    }
  }

  private let session: URLSession
  private let pins: PublicKeyPins?  // nil: no pinning
  private let allowInsecureHttp: Bool  // the loudly named test-rig opt-in
  #if canImport(Security) && canImport(CryptoKit)
  private let pinning: PinningDelegate?
  #endif
  private let delegate: SessionDelegate
  private let lock = NSLock()
  private var inFlight: [UInt64: Pending] = [:]  // guarded by lock
  private var idOfTask: [Int: UInt64] = [:]  // taskIdentifier -> id, guarded by lock
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
    let pinning = pins.map { PinningDelegate($0) }
    self.pinning = pinning
    delegate = SessionDelegate(pinning: pinning)
    #else
    delegate = SessionDelegate()
    #endif
    // The delegate runs on a serial queue of its own (an overcommitting one): on Linux the default
    // delegate queue waits for a thread from the pool that FoundationNetworking's own reading
    // keeps busy, and the body piles up unread-by-us meanwhile (measured: 380 MB before the cut).
    let delegateQueue = OperationQueue()
    delegateQueue.maxConcurrentOperationCount = 1
    delegateQueue.underlyingQueue = DispatchQueue(label: "com.experiture.sdk.urlsession")
    session = URLSession(configuration: config, delegate: delegate, delegateQueue: delegateQueue)
    delegate.client = self
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
    // No completion handler: the delegate sees each chunk (a completion handler would get the
    // whole body at the end, however long it grew).
    let task = session.dataTask(with: urlRequest)
    inFlight[id] = Pending(task: task, completion: completion)
    idOfTask[task.taskIdentifier] = id
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

  static let bodyTooLarge = "response body exceeds 8 MiB (maxResponseBodyBytes): not an answer "
    + "the API sends"

  /// The response head: a Content-Length past the cap is refused before any body is read.
  fileprivate func received(_ response: URLResponse, for task: URLSessionTask) -> Bool {
    lock.lock()
    let id = idOfTask[task.taskIdentifier]
    if let id = id { inFlight[id]?.response = response }
    lock.unlock()
    guard let id = id else { return false }  // completed already (timeout, cancel)
    if response.expectedContentLength > Int64(URLSessionHttpClient.maxResponseBodyBytes) {
      finish(id, HttpResponse(error: .other, message: URLSessionHttpClient.bodyTooLarge))
      return false
    }
    return true
  }

  /// One chunk of the body: kept while the total stays within the cap, else the task ends here.
  fileprivate func received(_ data: Data, for task: URLSessionTask) {
    lock.lock()
    guard let id = idOfTask[task.taskIdentifier], let pending = inFlight[id] else {
      lock.unlock()
      return
    }
    // countOfBytesReceived runs ahead of the chunks handed to the delegate (FoundationNetworking
    // queues them for the delegate while it keeps reading): it decides as early as possible.
    let cap = URLSessionHttpClient.maxResponseBodyBytes
    let fits = data.count <= cap - pending.body.count && task.countOfBytesReceived <= Int64(cap)
    if fits { pending.body.append(data) }
    lock.unlock()
    if !fits { finish(id, HttpResponse(error: .other, message: URLSessionHttpClient.bodyTooLarge)) }
  }

  fileprivate func completed(_ task: URLSessionTask, _ error: Error?) {
    lock.lock()
    let id = idOfTask.removeValue(forKey: task.taskIdentifier)
    let pending = id.flatMap { inFlight[$0] }
    let body = pending?.body
    let response = pending?.response ?? task.response
    lock.unlock()
    guard let id = id, pending != nil else { return }
    if pinRefused(task.taskIdentifier) {
      finish(id, HttpResponse(error: .pinning, message: "the server's public key matches no pin"))
    } else {
      finish(id, URLSessionHttpClient.response(body, response, error))
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
    idOfTask.removeAll()
    lock.unlock()
    for (_, request) in pending.sorted(by: { $0.key < $1.key }) {
      request.task.cancel()
      request.completion(HttpResponse(error: .cancelled, message: message))
    }
  }

  private func finish(_ id: UInt64, _ response: HttpResponse) {
    lock.lock()
    let pending = inFlight.removeValue(forKey: id)
    if let pending = pending { idOfTask.removeValue(forKey: pending.task.taskIdentifier) }
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
    case .cannotFindHost, .dnsLookupFailed:
      return .dns
    case .cannotConnectToHost, .notConnectedToInternet, .internationalRoamingOff, .dataNotAllowed:
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

/// The session's delegate: hands the response head and each body chunk to the client as they
/// arrive (the client counts them against the cap), and the server-trust challenge to the pinning
/// delegate when pins are set. Holds the client weakly (the session holds the delegate).
private final class SessionDelegate: NSObject, URLSessionDataDelegate, @unchecked Sendable {
  weak var client: URLSessionHttpClient?  // set once, right after the session is made
  #if canImport(Security) && canImport(CryptoKit)
  private let pinning: PinningDelegate?

  init(pinning: PinningDelegate?) {
    self.pinning = pinning
  }

  func urlSession(_ session: URLSession, task: URLSessionTask,
                  didReceive challenge: URLAuthenticationChallenge,
                  completionHandler: @escaping (URLSession.AuthChallengeDisposition, URLCredential?)
                    -> Void) {
    guard let pinning = pinning else {
      completionHandler(.performDefaultHandling, nil)
      return
    }
    pinning.urlSession(session, task: task, didReceive: challenge,
                       completionHandler: completionHandler)
  }
  #endif

  func urlSession(_ session: URLSession, dataTask: URLSessionDataTask,
                  didReceive response: URLResponse,
                  completionHandler: @escaping (URLSession.ResponseDisposition) -> Void) {
    let keep = client?.received(response, for: dataTask) ?? false
    completionHandler(keep ? .allow : .cancel)
  }

  func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
    client?.received(data, for: dataTask)
  }

  func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: Error?) {
    client?.completed(task, error)
  }
}
