import Experiture
import Foundation
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// Collects completions with their tags, in arrival order.
final class Collector: @unchecked Sendable {
  private let condition = NSCondition()
  private var received: [(tag: Int, response: HttpResponse)] = []  // guarded by condition

  func callback(_ tag: Int) -> @Sendable (HttpResponse) -> Void {
    { response in
      self.condition.lock()
      self.received.append((tag, response))
      self.condition.broadcast()
      self.condition.unlock()
    }
  }

  func waitFor(_ count: Int, seconds: Double = 20) -> Bool {
    let deadline = Date(timeIntervalSinceNow: seconds)
    condition.lock()
    defer { condition.unlock() }
    while received.count < count {
      if !condition.wait(until: deadline) { return received.count >= count }
    }
    return true
  }

  func waitOne(file: StaticString = #filePath, line: UInt = #line) -> HttpResponse? {
    XCTAssertTrue(waitFor(1), "a completion arrives", file: file, line: line)
    return responses.first?.response
  }

  var responses: [(tag: Int, response: HttpResponse)] {
    condition.lock()
    defer { condition.unlock() }
    return received
  }
}

/// URLSessionHttpClient keeps the HttpClient contract: the checks of
/// tests/support/http_client_contract.hpp, against a loopback server.
final class HttpClientContractTests: XCTestCase {
  private var server: LoopbackHttpServer!
  private var client: URLSessionHttpClient!
  private var collector: Collector!

  override func setUpWithError() throws {
    server = try LoopbackHttpServer()
    client = URLSessionHttpClient()
    collector = Collector()
  }

  override func tearDown() {
    client.close()
    server.stop()
  }

  private func post(_ path: String, _ body: String, timeoutMs: Int64 = 20_000) -> HttpRequest {
    HttpRequest(method: "POST", url: server.url(path),
                headers: [HttpHeader("Content-Type", "application/json")],
                body: Data(body.utf8), timeoutMs: timeoutMs)
  }

  private func text(_ response: HttpResponse?) -> String {
    String(decoding: response?.body ?? Data(), as: UTF8.self)
  }

  func testAPostArrivesByteExactAndStatusBodyAndLowerCasedHeadersComeBack() throws {
    // Multi-byte and 4-byte UTF-8 (emoji, G clef), a NUL and CR/LF inside the body.
    let body = Data("{\"name\":\"Zoë 😀 𝄞\",\"raw\":\"\u{0}\r\n\"}".utf8)
    let headers = [
      HttpHeader("Content-Type", "application/json; charset=utf-8"),
      HttpHeader("Authorization", "Bearer t0ken"),
      HttpHeader("Idempotency-Key", "6f1c2b9e-0d1a-4c55-9f3e-2b7d8e1a4c00"),
      HttpHeader("X-Note", "café 🚀"),
    ]
    client.send(HttpRequest(method: "POST", url: server.url("/echo"), headers: headers,
                            body: body, timeoutMs: 20_000), completion: collector.callback(0))
    let response = try XCTUnwrap(collector.waitOne())
    XCTAssertEqual(response.error, TransportError.none, response.errorMessage)
    XCTAssertEqual(response.status, 200)
    XCTAssertEqual(response.body, body)
    XCTAssertEqual(response.header("x-mixed-case"), "Mixed Value")
    XCTAssertEqual(response.header("content-length"), String(body.count))
    for header in response.headers { XCTAssertEqual(header.name, header.name.lowercased()) }
    let received = server.requests
    XCTAssertEqual(received.count, 1)
    XCTAssertEqual(received.first?.method, "POST")
    XCTAssertEqual(received.first?.target, "/echo")
    XCTAssertEqual(received.first?.body, Array(body))
    for header in headers {
      XCTAssertEqual(received.first?.header(header.name), Array(header.value.utf8), header.name)
    }
  }

  func testAnErrorStatusIsAResponseNotATransportError() throws {
    client.send(post("/status/503", "{}"), completion: collector.callback(0))
    let response = try XCTUnwrap(collector.waitOne())
    XCTAssertEqual(response.error, TransportError.none)
    XCTAssertEqual(response.status, 503)
    XCTAssertEqual(text(response), "status 503")
  }

  func testManyConcurrentRequestsEachCompleteExactlyOnceWithTheirOwnResponse() {
    let requests = 40
    DispatchQueue.concurrentPerform(iterations: requests) { i in
      client.send(post("/echo", "request \(i)"), completion: collector.callback(i))
    }
    XCTAssertTrue(collector.waitFor(requests))
    client.close()  // nothing more may arrive, also not during shutdown
    var completions: [Int: Int] = [:]
    for (tag, response) in collector.responses {
      completions[tag, default: 0] += 1
      XCTAssertEqual(response.status, 200, response.errorMessage)
      XCTAssertEqual(text(response), "request \(tag)")
    }
    XCTAssertEqual(completions.count, requests)
    XCTAssertTrue(completions.values.allSatisfy { $0 == 1 })
  }

  func testConnectionRefusedIsConnectAndTheErrorNeverShowsTheToken() throws {
    let port = try LoopbackHttpServer.unusedPort()
    client.send(HttpRequest(method: "POST", url: "http://127.0.0.1:\(port)/echo",
                            headers: [HttpHeader("Authorization", "Bearer secret-token-4711")],
                            body: Data("{}".utf8), timeoutMs: 20_000),
                completion: collector.callback(0))
    let response = try XCTUnwrap(collector.waitOne())
    XCTAssertEqual(response.error, TransportError.connect, response.errorMessage)
    XCTAssertEqual(response.status, 0)
    XCTAssertFalse(response.errorMessage.contains("secret-token-4711"))
  }

  func testAServerSlowerThanTimeoutMsIsTimeout() throws {
    let start = Date()
    client.send(post("/hang", "{}", timeoutMs: 300), completion: collector.callback(0))
    let response = try XCTUnwrap(collector.waitOne())
    let elapsed = Date().timeIntervalSince(start)
    XCTAssertEqual(response.error, TransportError.timeout, response.errorMessage)
    XCTAssertGreaterThanOrEqual(elapsed, 0.29, "not before timeout_ms")
    XCTAssertLessThan(elapsed, 10)
    XCTAssertEqual(response.status, 0)
  }

  func testAConnectionClosedWithoutAResponseIsReset() throws {
    client.send(post("/close", "{}"), completion: collector.callback(0))
    let response = try XCTUnwrap(collector.waitOne())
    XCTAssertEqual(response.error, TransportError.reset, response.errorMessage)
    XCTAssertEqual(response.status, 0)
  }

  func testCancelAllCompletesInFlightRequestsWithCancelledAndLaterOnesStillWork() throws {
    for i in 0..<3 { client.send(post("/hang", "{}"), completion: collector.callback(i)) }
    XCTAssertTrue(server.waitForHeld(3))
    client.cancelAll()
    XCTAssertTrue(collector.waitFor(3))
    for (_, response) in collector.responses {
      XCTAssertEqual(response.error, TransportError.cancelled)
    }
    client.send(post("/echo", "after"), completion: collector.callback(99))
    XCTAssertTrue(collector.waitFor(4))
    let last = try XCTUnwrap(collector.responses.last)
    XCTAssertEqual(last.tag, 99)
    XCTAssertEqual(last.response.status, 200, last.response.errorMessage)
    XCTAssertEqual(text(last.response), "after")
    XCTAssertEqual(collector.responses.count, 4)
  }

  func testCloseCompletesInFlightRequestsWithCancelledBeforeItReturns() {
    for i in 0..<3 { client.send(post("/hang", "{}"), completion: collector.callback(i)) }
    XCTAssertTrue(server.waitForHeld(3))
    client.close()
    let responses = collector.responses
    XCTAssertEqual(responses.count, 3)
    for (_, response) in responses { XCTAssertEqual(response.error, TransportError.cancelled) }
  }

  func testSequentialRequestsReuseOneKeptAliveConnection() {
    for i in 0..<3 {
      client.send(post("/echo", "keep \(i)"), completion: collector.callback(i))
      XCTAssertTrue(collector.waitFor(i + 1))
    }
    for (_, response) in collector.responses { XCTAssertEqual(response.status, 200) }
    XCTAssertEqual(server.connections, 1)
  }

  func testACompletionMaySendTheNextRequest() throws {
    let first = collector.callback(1)
    let second = collector.callback(2)
    let secondRequest = post("/echo", "second")
    let client = self.client!
    client.send(post("/echo", "first")) { response in
      client.send(secondRequest, completion: second)
      first(response)
    }
    XCTAssertTrue(collector.waitFor(2))
    let responses = collector.responses
    XCTAssertEqual(responses.map { $0.tag }, [1, 2])
    XCTAssertEqual(text(responses[0].response), "first")
    XCTAssertEqual(text(responses[1].response), "second")
    XCTAssertNotNil(responses[1].response.header("content-length"))
  }
}

extension LoopbackHttpServer {
  /// A loopback port nothing listens on: bound, then closed at once.
  static func unusedPort() throws -> UInt16 {
    let server = try LoopbackHttpServer()
    let port = server.port
    server.stop()
    return port
  }
}
