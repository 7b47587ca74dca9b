import Foundation

/// One HTTP header; values are UTF-8 text sent as their bytes.
public struct HttpHeader: Sendable, Equatable {
  public var name: String
  public var value: String

  public init(_ name: String, _ value: String) {
    self.name = name
    self.value = value
  }
}

/// A request the SDK wants sent (copied out of the C call; the client may keep it).
public struct HttpRequest: Sendable {
  public var method: String
  public var url: String
  public var headers: [HttpHeader]
  public var body: Data
  /// Total time for the exchange.
  public var timeoutMs: Int64

  public init(method: String, url: String, headers: [HttpHeader] = [], body: Data = Data(),
              timeoutMs: Int64 = 30_000) {
    self.method = method
    self.url = url
    self.headers = headers
    self.body = body
    self.timeoutMs = timeoutMs
  }
}

/// Why a request produced no HTTP status (experiture_transport_error_t, same numbers; cases are
/// only ever appended).
public enum TransportError: Int32, Sendable {
  case none = 0
  case connect = 1
  case timeout = 2
  case tls = 3
  case pinning = 4
  case reset = 5
  case cancelled = 6
  case other = 7
  /// The host name did not resolve (DNS failure).
  case dns = 8
}

/// The outcome of one request: an HTTP status (any, 4xx/5xx included) or a transport error.
public struct HttpResponse: Sendable {
  /// 0 when `error` is not `.none`.
  public var status: Int
  /// Names lower-cased.
  public var headers: [HttpHeader]
  public var body: Data
  public var error: TransportError
  /// Transport detail; never holds the Authorization header.
  public var errorMessage: String

  public init(status: Int, headers: [HttpHeader] = [], body: Data = Data()) {
    self.status = status
    self.headers = headers
    self.body = body
    self.error = .none
    self.errorMessage = ""
  }

  public init(error: TransportError, message: String) {
    self.status = 0
    self.headers = []
    self.body = Data()
    self.error = error
    self.errorMessage = message
  }

  /// The first header named `name` (any case).
  public func header(_ name: String) -> String? {
    let lower = name.lowercased()
    return headers.first { $0.name == lower }?.value
  }
}

/// The platform HTTP stack the SDK sends through (the C experiture_http_client_t as a protocol).
///
/// Contract (the same as the C++ platform::HttpClient): `send` never blocks on the network and
/// may be called from any thread, also from inside a completion; each `send` leads to exactly one
/// call of its `completion`, from any thread; `cancelAll` completes every request in flight with
/// `.cancelled` (later requests work as usual).
public protocol HttpClient: AnyObject, Sendable {
  func send(_ request: HttpRequest, completion: @escaping @Sendable (HttpResponse) -> Void)
  func cancelAll()
}
