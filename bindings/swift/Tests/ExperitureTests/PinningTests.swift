import Foundation
import XCTest

@testable import Experiture

/// Public-key pins with URLSession. The server-trust check itself (Apple's Security framework)
/// cannot run on Linux; what runs here: parsing, and that FoundationNetworking fails closed.
final class PinningTests: XCTestCase {
  private let pin = "sha256//" + Data(repeating: 7, count: 32).base64EncodedString()

  func testMalformedPinsAreAConfigErrorNamingTheField() {
    for bad in ["sha1//abc=", "sha256//short=", "\(pin);;\(pin)", "sha256//" + String(repeating: "!", count: 43) + "="] {
      XCTAssertThrowsError(try URLSessionHttpClient(pinnedPublicKeys: bad), bad) {
        guard case ExperitureError.status(.invalidConfig, let message) = $0 else {
          return XCTFail("expected .invalidConfig, got \($0)")
        }
        XCTAssertTrue(message.contains("tlsPinnedPublicKeys"), message)
      }
    }
    XCTAssertNoThrow(try URLSessionHttpClient(pinnedPublicKeys: "\(pin); \(pin)"))
    XCTAssertNoThrow(try URLSessionHttpClient(pinnedPublicKeys: ""))
  }

  func testWherePinsCannotBeCheckedEveryRequestFailsWithPinningAndNothingIsSent() throws {
    try XCTSkipIf(PublicKeyPins.canCheck, "this platform checks pins (needs an HTTPS server)")
    let server = try LoopbackHttpServer()
    defer { server.stop() }
    let client = try URLSessionHttpClient(pinnedPublicKeys: pin)
    defer { client.close() }
    for url in [server.url("/x").replacingOccurrences(of: "http://", with: "https://"),
                server.url("/x")] {
      let done = expectation(description: url)
      let box = ResponseBox()
      client.send(HttpRequest(method: "POST", url: url, body: Data("{}".utf8), timeoutMs: 5000)) {
        box.set($0)
        done.fulfill()
      }
      wait(for: [done], timeout: 10)
      XCTAssertEqual(box.get()?.error, .pinning, url)
    }
    XCTAssertEqual(server.connections, 0, "no connection was made")
  }

  func testTheSdkWithPinsOnAPlatformThatCannotCheckThemHoldsDeliveryAndSaysWhy() throws {
    try XCTSkipIf(PublicKeyPins.canCheck, "this platform checks pins (needs an HTTPS server)")
    let dir = FileManager.default.temporaryDirectory
      .appendingPathComponent("experiture-pins-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    var config = ExperitureConfig(storagePath: dir.appendingPathComponent("p.db").path)
    config.endpoint = "https://127.0.0.1:9/public/v1"
    config.token = "t"
    config.tlsPinnedPublicKeys = pin
    let sdk = try Experiture(config: config)
    try sdk.upsert("profiles", ["email": "pinned@example.com"], matchKey: "email")
    // A pin failure pauses delivery (until resume() or another config): flush says so at once.
    XCTAssertEqual(try sdk.flush(timeoutMs: 1500), .paused)
    let stats = try sdk.statsJSON()
    XCTAssertTrue(stats.contains("NETWORK.PINNING"), stats)
    XCTAssertTrue(stats.contains("\"delivered\":0"), stats)
  }
}

final class ResponseBox: @unchecked Sendable {
  private let lock = NSLock()
  private var response: HttpResponse?

  func set(_ value: HttpResponse) {
    lock.lock()
    response = value
    lock.unlock()
  }

  func get() -> HttpResponse? {
    lock.lock()
    defer { lock.unlock() }
    return response
  }
}
