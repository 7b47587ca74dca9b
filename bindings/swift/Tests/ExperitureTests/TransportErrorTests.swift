@testable import Experiture
import Foundation
import XCTest

/// How URLSessionHttpClient names a failed exchange, and a real name-resolution failure. The host
/// name has a 64-byte label, longer than DNS allows: the system resolver refuses it without
/// sending a query, so nothing leaves the machine.
final class TransportErrorTests: XCTestCase {
  private let unresolvable = String(repeating: "a", count: 64) + ".invalid"

  func testEachURLErrorMapsToItsKind() {
    let rows: [(URLError.Code, TransportError)] = [
      (.cannotFindHost, .dns),
      (.dnsLookupFailed, .dns),
      (.cannotConnectToHost, .connect),
      (.notConnectedToInternet, .connect),
      (.timedOut, .timeout),
      (.networkConnectionLost, .reset),
      (.cancelled, .cancelled),
      (.secureConnectionFailed, .tls),
      (.serverCertificateUntrusted, .tls),
      (.badURL, .other),
    ]
    for (code, kind) in rows {
      XCTAssertEqual(URLSessionHttpClient.transportError(URLError(code)), kind, "\(code)")
    }
  }

  func testDnsKeepsTheNumberOfTheCApi() {
    XCTAssertEqual(TransportError.dns.rawValue, 8)  // EXPERITURE_TRANSPORT_DNS
  }

  func testAHostNameThatDoesNotResolveIsDnsAndTheMessageSaysSo() throws {
    let client = URLSessionHttpClient()
    defer { client.close() }
    let collector = Collector()
    client.send(HttpRequest(method: "GET", url: "https://\(unresolvable)/public/v1/profiles",
                            headers: [HttpHeader("Authorization", "Bearer secret-token-4711")],
                            timeoutMs: 20_000),
                completion: collector.callback(0))
    let response = try XCTUnwrap(collector.waitOne())
    XCTAssertEqual(response.error, .dns, response.errorMessage)
    XCTAssertEqual(response.status, 0)
    XCTAssertFalse(response.errorMessage.contains("secret-token-4711"))
  }
}
