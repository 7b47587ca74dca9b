import CExperiture
import Foundation

// The Swift side of the C callback tables: each table's user_data is a retained box, released by
// the table's destroy(), which the SDK calls exactly once. Marshalling only.

/// A delivery event (experiture_delivery_event_t).
public struct DeliveryEvent: Sendable, Equatable {
  public enum Kind: Int32, Sendable {
    case delivered = 0
    case deadLettered = 1
    case paused = 2
    case resumed = 3
    case dropped = 4
    case unknown = -1
  }

  public var kind: Kind
  public var count: UInt64
  public var reason: String

  public init(kind: Kind, count: UInt64, reason: String) {
    self.kind = kind
    self.count = count
    self.reason = reason
  }
}

public enum LogLevel: Int32, Sendable {
  case debug = 0
  case info = 1
  case warn = 2
  case error = 3
}

/// Supplies bearer tokens on an SDK thread; `refresh` is true after a 401 for the previous one.
/// nil or "" means "no token now" (delivery pauses and asks again later). May block briefly.
public typealias TokenProvider = @Sendable (_ refresh: Bool) -> String?
/// Delivery progress on an SDK thread; must not block for long.
public typealias DeliveryListener = @Sendable (DeliveryEvent) -> Void
/// Log lines from SDK threads; they never hold tokens or record values.
public typealias LogSink = @Sendable (LogLevel, String) -> Void
/// The app's phone normaliser (e.g. a Swift phone-number library): the phone as given and the
/// default region (ISO 3166-1 alpha-2, "US") in, "+<digits>" (E.164) out, nil when it is not a
/// valid number (INVALID_PHONE). Called on the thread that calls upsert/append/login: thread-safe,
/// quick, must not call the SDK. A number already in E.164 must come back unchanged; an answer
/// that is not E.164 is rejected, never stored. Without one, the package's core accepts only E.164
/// (spaces, dashes, dots and brackets removed) and rejects national numbers.
public typealias PhoneNormalizer = @Sendable (_ raw: String, _ defaultRegion: String) -> String?

final class Box<Value> {
  let value: Value
  init(_ value: Value) { self.value = value }

  static func retain(_ value: Value) -> UnsafeMutableRawPointer {
    Unmanaged.passRetained(Box(value)).toOpaque()
  }

  static func borrow(_ pointer: UnsafeMutableRawPointer?) -> Value {
    Unmanaged<Box<Value>>.fromOpaque(pointer!).takeUnretainedValue().value
  }

  static func release(_ pointer: UnsafeMutableRawPointer?) {
    guard let pointer = pointer else { return }
    Unmanaged<Box<Value>>.fromOpaque(pointer).release()
  }
}

/// One request's completion handle, passed to experiture_http_complete() at most once even if a
/// client broke the contract and completed twice.
final class CompletionHandle: @unchecked Sendable {
  private let lock = NSLock()
  private var handle: OpaquePointer?  // guarded by lock

  init(_ handle: OpaquePointer?) { self.handle = handle }

  func complete(_ response: HttpResponse) {
    lock.lock()
    let taken = handle
    handle = nil
    lock.unlock()
    if let taken = taken { CallbackTables.complete(taken, response) }
  }
}

enum CallbackTables {
  static func httpClient(_ client: HttpClient) -> experiture_http_client_t {
    var table = experiture_http_client_t()
    table.version = UInt32(EXPERITURE_HTTP_CLIENT_VERSION)
    table.user_data = Box<HttpClient>.retain(client)
    table.destroy = { Box<HttpClient>.release($0) }
    table.send = { userData, request, completion in
      let handle = CompletionHandle(completion)
      guard let request = request else {
        handle.complete(HttpResponse(error: .other, message: "no request"))
        return
      }
      Box<HttpClient>.borrow(userData).send(CallbackTables.copy(request.pointee)) { handle.complete($0) }
    }
    table.cancel_all = { Box<HttpClient>.borrow($0).cancelAll() }
    return table
  }

  static func tokenProvider(_ provider: @escaping TokenProvider) -> experiture_token_provider_t {
    var table = experiture_token_provider_t()
    table.version = UInt32(EXPERITURE_TOKEN_PROVIDER_VERSION)
    table.user_data = Box<TokenProvider>.retain(provider)
    table.destroy = { Box<TokenProvider>.release($0) }
    table.get_token = { userData, refresh, sink in
      guard var token = Box<TokenProvider>.borrow(userData)(refresh != 0) else { return }
      token.withUTF8 { bytes in
        bytes.withMemoryRebound(to: CChar.self) {
          _ = experiture_token_sink_write(sink, $0.baseAddress, $0.count)
        }
      }
    }
    return table
  }

  static func deliveryListener(_ listener: @escaping DeliveryListener)
    -> experiture_delivery_listener_t
  {
    var table = experiture_delivery_listener_t()
    table.version = UInt32(EXPERITURE_DELIVERY_LISTENER_VERSION)
    table.user_data = Box<DeliveryListener>.retain(listener)
    table.destroy = { Box<DeliveryListener>.release($0) }
    table.on_event = { userData, event in
      guard let event = event?.pointee else { return }
      Box<DeliveryListener>.borrow(userData)(
        DeliveryEvent(kind: DeliveryEvent.Kind(rawValue: event.type) ?? .unknown,
                      count: event.count, reason: decodeUTF8(event.reason, event.reason_length)))
    }
    return table
  }

  static func logger(_ sink: @escaping LogSink) -> experiture_logger_t {
    var table = experiture_logger_t()
    table.version = UInt32(EXPERITURE_LOGGER_VERSION)
    table.user_data = Box<LogSink>.retain(sink)
    table.destroy = { Box<LogSink>.release($0) }
    table.log = { userData, level, message, length in
      Box<LogSink>.borrow(userData)(LogLevel(rawValue: level) ?? .error,
                                    decodeUTF8(message, length))
    }
    return table
  }

  static func phoneNormalizer(_ normalizer: @escaping PhoneNormalizer)
    -> experiture_phone_normalizer_t
  {
    var table = experiture_phone_normalizer_t()
    table.version = UInt32(EXPERITURE_PHONE_NORMALIZER_VERSION)
    table.user_data = Box<PhoneNormalizer>.retain(normalizer)
    table.destroy = { Box<PhoneNormalizer>.release($0) }
    table.normalize = { userData, raw, rawLength, region, regionLength, sink in
      guard var e164 = Box<PhoneNormalizer>.borrow(userData)(
        decodeUTF8(raw, rawLength), decodeUTF8(region, regionLength))
      else { return }
      e164.withUTF8 { bytes in
        bytes.withMemoryRebound(to: CChar.self) {
          _ = experiture_phone_sink_write(sink, $0.baseAddress, $0.count)
        }
      }
    }
    return table
  }

  static func copy(_ request: experiture_http_request_t) -> HttpRequest {
    var headers: [HttpHeader] = []
    headers.reserveCapacity(request.header_count)
    if let raw = request.headers {
      for i in 0..<request.header_count {
        headers.append(HttpHeader(decodeUTF8(raw[i].name, raw[i].name_length),
                                  decodeUTF8(raw[i].value, raw[i].value_length)))
      }
    }
    var body = Data()
    if let bytes = request.body, request.body_length > 0 {
      body = Data(bytes: bytes, count: request.body_length)
    }
    return HttpRequest(method: decodeUTF8(request.method, request.method_length),
                       url: decodeUTF8(request.url, request.url_length), headers: headers,
                       body: body, timeoutMs: request.timeout_ms)
  }

  /// Lays the response out in one byte buffer (headers, then the message) for the C call.
  static func complete(_ completion: OpaquePointer, _ response: HttpResponse) {
    var storage: [UInt8] = [0]  // never empty, so the base address is never nil
    var spans: [(name: Int, nameLength: Int, value: Int, valueLength: Int)] = []
    for header in response.headers {
      let name = storage.count
      storage.append(contentsOf: header.name.utf8)
      let value = storage.count
      storage.append(contentsOf: header.value.utf8)
      spans.append((name, value - name, value, storage.count - value))
    }
    let message = storage.count
    storage.append(contentsOf: response.errorMessage.utf8)
    let messageLength = storage.count - message

    storage.withUnsafeBytes { raw in
      let base = raw.baseAddress!.assumingMemoryBound(to: CChar.self)
      let headers = spans.map {
        experiture_http_header_t(name: base + $0.name, name_length: $0.nameLength,
                                 value: base + $0.value, value_length: $0.valueLength)
      }
      headers.withUnsafeBufferPointer { headerBuffer in
        response.body.withUnsafeBytes { body in
          var c = experiture_http_response_t()
          c.status = Int32(clamping: response.status)
          c.headers = headerBuffer.baseAddress
          c.header_count = headerBuffer.count
          c.body = body.baseAddress?.assumingMemoryBound(to: CChar.self)
          c.body_length = body.count
          c.error = response.error.rawValue
          c.error_message = base + message
          c.error_message_length = messageLength
          _ = experiture_http_complete(completion, &c)
        }
      }
    }
  }
}
