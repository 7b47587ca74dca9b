import Experiture
import Foundation
import XCTest

/// The Swift API through the C ABI and URLSessionHttpClient, against the real emulator.
final class EndToEndTests: EmulatorTestCase {
  private func config(_ name: String) -> ExperitureConfig {
    var config = baseConfig(name)
    config.token = "swift-test-token"
    config.flushIntervalMs = 50
    return config
  }

  private func expect(_ status: ExperitureStatus, file: StaticString = #filePath,
                      line: UInt = #line, _ call: () throws -> Void) {
    XCTAssertThrowsError(try call(), "expected \(status.name)", file: file, line: line) { error in
      guard let error = error as? ExperitureError else {
        return XCTFail("not an ExperitureError: \(error)", file: file, line: line)
      }
      XCTAssertEqual(error.status, status, error.description, file: file, line: line)
      XCTAssertEqual(error.code, status.rawValue, file: file, line: line)
      XCTAssertEqual(error.name, status.name, file: file, line: line)
      XCTAssertTrue(error.description.hasPrefix(status.name), file: file, line: line)
    }
  }

  func testUpsertAndLoginLinkTheDeviceIntoOneEmulatorProfile() throws {
    let tokenCalls = Counter()
    let events = Events()
    var config = config("e2e.db")
    config.tokenProvider = { _ in
      tokenCalls.increment()
      return "closure-token"
    }
    config.deliveryListener = { events.append($0) }
    let sdk = try Experiture(config: config)
    let deviceId = try sdk.deviceId()
    XCTAssertEqual(deviceId.count, 36)
    try sdk.setPushToken("push-swift")
    try sdk.upsert("profiles", record: ["email": "Grace@Example.com", "tier": "gold"],
                   matchKey: "email")
    try sdk.login(email: " GRACE@example.com ", customerId: "cust-swift")
    try sdk.append("events", json: #"{"event":"app_open","customer_id":"cust-swift"}"#)
    XCTAssertEqual(try sdk.flush(timeoutMs: 20_000), .ok)

    let profile = try XCTUnwrap(emulator.profile("customer_id", "cust-swift"),
                                "profile linked by customer_id")
    let fields = try XCTUnwrap(profile["fields"] as? [String: Any])
    XCTAssertEqual(fields["email"] as? String, "grace@example.com")
    XCTAssertEqual(fields["tier"] as? String, "gold")
    XCTAssertEqual(fields["device_id"] as? String, deviceId)
    XCTAssertEqual(fields["push_token"] as? String, "push-swift")
    // One profile: the anonymous device profile and the user are the same row.
    let profiles = try emulator.profiles()
    XCTAssertEqual(profiles.count, 1, "\(profiles)")
    let byDevice = try XCTUnwrap(emulator.profile("device_id", deviceId))
    XCTAssertEqual(byDevice["id"] as? Int, profile["id"] as? Int)

    XCTAssertGreaterThan(tokenCalls.value, 0)
    XCTAssertTrue(events.all.contains { $0.kind == .delivered }, "\(events.all)")
    let stats = try sdk.stats()
    XCTAssertEqual(stats["queued_records"] as? Int, 0)
    XCTAssertEqual(stats["device_id"] as? String, deviceId)
    XCTAssertTrue(try sdk.deadLetters(limit: 10).isEmpty)
  }

  func testAnEmojiAndAFourByteCharacterRoundTripIntoTheProfile() throws {
    // U+1F600 (emoji) and U+1D11E (musical G clef): 4 bytes each in UTF-8.
    let name = "Zoë 😀 𝄞"
    let sdk = try Experiture(config: config("utf8.db"))
    try sdk.upsert("profiles", json: #"{"email":"zoe@example.com","first_name":"\#(name)"}"#,
                   matchKey: "email")
    try sdk.upsert("profiles", record: ["email": "zoe@example.com", "last_name": name],
                   matchKey: "email")
    XCTAssertEqual(try sdk.flush(timeoutMs: 20_000), .ok)
    let profile = try XCTUnwrap(emulator.profile("email", "zoe@example.com"))
    let fields = try XCTUnwrap(profile["fields"] as? [String: Any])
    XCTAssertEqual(fields["first_name"] as? String, name)
    XCTAssertEqual(fields["last_name"] as? String, name)
    XCTAssertEqual(Array((fields["first_name"] as? String ?? "").utf8), Array(name.utf8))
  }

  func testACustomHttpClientCarriesEveryRequest() throws {
    let client = RecordingHttpClient()
    var config = config("custom.db")
    config.transport = .custom(client)
    let sdk = try Experiture(config: config)
    try sdk.upsert("profiles", record: ["email": "custom@example.com"], matchKey: "email")
    XCTAssertEqual(try sdk.flush(timeoutMs: 20_000), .ok)
    XCTAssertNotNil(try emulator.profile("email", "custom@example.com"))
    let requests = client.requests
    XCTAssertFalse(requests.isEmpty)
    for request in requests {
      XCTAssertEqual(request.method, "POST")
      XCTAssertTrue(request.url.hasPrefix(emulator.baseURL), request.url)
      XCTAssertTrue(request.headers.contains {
        $0.name.lowercased() == "authorization" && $0.value == "Bearer swift-test-token"
      })
    }
  }

  func testBadInputThrowsAnErrorCarryingTheStatus() throws {
    let sdk = try Experiture(config: config("bad.db"))
    expect(.invalidJSON) { try sdk.upsert("profiles", json: #"{"email":"#, matchKey: "email") }
    expect(.recordNotObject) { try sdk.upsert("profiles", json: "[1,2]", matchKey: "email") }
    expect(.matchKeyMissing) { try sdk.upsert("profiles", record: ["tier": "x"], matchKey: "email") }
    expect(.invalidEmail) { try sdk.login(email: "not an email") }
    expect(.invalidArgument) { try sdk.login() }
    do {
      try sdk.upsert("profiles", record: ["tier": "x"], matchKey: "email")
    } catch let error as ExperitureError {
      XCTAssertTrue(error.message.contains("email"), error.message)
    }
    try sdk.upsert("profiles", record: ["email": "ok@example.com"], matchKey: "email")
    XCTAssertEqual(try sdk.flush(timeoutMs: 20_000), .ok)
    XCTAssertEqual(try sdk.close(timeoutMs: 5000), .ok)
    expect(.closed) { try sdk.upsert("profiles", record: ["email": "a@b.co"], matchKey: "email") }
    expect(.closed) { _ = try sdk.stats() }
    XCTAssertEqual(try sdk.close(timeoutMs: 100), .ok)  // idempotent
    XCTAssertNotNil(try emulator.profile("email", "ok@example.com"))
  }

  func testAnEmptyStoragePathIsInvalidConfig() {
    var config = ExperitureConfig(storagePath: "")
    config.endpoint = emulator.baseURL
    expect(.invalidConfig) { _ = try Experiture(config: config) }
  }

  func testOfflinePausesDeliveryAndOnlineResumesIt() throws {
    let sdk = try Experiture(config: config("offline.db"))
    try sdk.setOnline(false)
    try sdk.upsert("profiles", record: ["email": "off@example.com"], matchKey: "email")
    let paused = try sdk.flush(timeoutMs: 300)
    XCTAssertTrue(paused == .paused || paused == .timeout, paused.name)
    XCTAssertNil(try emulator.profile("email", "off@example.com"))
    try sdk.setOnline(true)
    XCTAssertEqual(try sdk.flush(timeoutMs: 20_000), .ok)
    XCTAssertNotNil(try emulator.profile("email", "off@example.com"))
  }

  func testGoingToTheBackgroundDeliversAtOnce() throws {
    let center = NotificationCenter()
    let background = Notification.Name("test.background")
    let foreground = Notification.Name("test.foreground")
    let delivered = expectation(description: "delivered after the background hint")
    let armed = Counter()
    var config = config("lifecycle.db")
    config.flushIntervalMs = 600_000  // only the hint can trigger delivery within the test
    config.deliveryListener = { event in
      if event.kind == .delivered && armed.value == 1 && armed.increment() == 2 {
        delivered.fulfill()
      }
    }
    let sdk = try Experiture(config: config)
    let observer = LifecycleObserver(sdk: sdk, center: center, background: [background],
                                     foreground: [foreground])
    center.post(name: foreground, object: nil)
    XCTAssertEqual(try sdk.flush(timeoutMs: 20_000), .ok)  // the anonymous profile
    try sdk.upsert("profiles", record: ["email": "bg@example.com"], matchKey: "email")
    XCTAssertEqual(try sdk.persist(timeoutMs: 5000), .ok)
    XCTAssertNil(try emulator.profile("email", "bg@example.com"))
    armed.increment()  // any delivery from now on carries the upsert
    center.post(name: background, object: nil)
    wait(for: [delivered], timeout: 20)
    XCTAssertNotNil(try emulator.profile("email", "bg@example.com"))
    observer.stop()
  }

  func testARecordTheServerRejectsIsADeadLetterThatCanBePurged() throws {
    let sdk = try Experiture(config: config("dead.db"))
    try sdk.upsert("profiles", json: #"{"email":"dl@example.com","no_such_field":1}"#,
                   matchKey: "email")
    XCTAssertEqual(try sdk.flush(timeoutMs: 20_000), .ok)
    let letters = try sdk.deadLetters(limit: 10)
    XCTAssertEqual(letters.count, 1)
    XCTAssertTrue(try sdk.deadLettersJSON(limit: 10).contains("no_such_field"))
    try sdk.purgeDeadLetters()
    XCTAssertTrue(try sdk.deadLetters(limit: 10).isEmpty)
  }
}

final class Counter: @unchecked Sendable {
  private let lock = NSLock()
  private var count = 0

  @discardableResult
  func increment() -> Int {
    lock.lock()
    defer { lock.unlock() }
    count += 1
    return count
  }

  var value: Int {
    lock.lock()
    defer { lock.unlock() }
    return count
  }
}

final class Events: @unchecked Sendable {
  private let lock = NSLock()
  private var events: [DeliveryEvent] = []

  func append(_ event: DeliveryEvent) {
    lock.lock()
    events.append(event)
    lock.unlock()
  }

  var all: [DeliveryEvent] {
    lock.lock()
    defer { lock.unlock() }
    return events
  }
}

/// Records each request, then sends it through URLSessionHttpClient.
final class RecordingHttpClient: HttpClient, @unchecked Sendable {
  private let inner = URLSessionHttpClient()
  private let lock = NSLock()
  private var recorded: [HttpRequest] = []

  func send(_ request: HttpRequest, completion: @escaping @Sendable (HttpResponse) -> Void) {
    lock.lock()
    recorded.append(request)
    lock.unlock()
    inner.send(request, completion: completion)
  }

  func cancelAll() { inner.cancelAll() }

  var requests: [HttpRequest] {
    lock.lock()
    defer { lock.unlock() }
    return recorded
  }
}
