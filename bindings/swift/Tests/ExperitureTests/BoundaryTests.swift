import Experiture
import Foundation
import XCTest

/// The Swift API under the call orders an app really makes: close from inside the SDK's
/// callbacks, the last reference dropped inside one, two logins at once, calls after close.
final class BoundaryTests: EmulatorTestCase {
  private func config(_ name: String) -> ExperitureConfig {
    var config = baseConfig(name)
    config.token = "swift-boundary"
    config.flushIntervalMs = 20
    return config
  }

  /// Holds the client for a callback; `take()` hands it over once (the box keeps no reference).
  final class Box: @unchecked Sendable {
    private let lock = NSLock()
    private var sdk: Experiture?
    private(set) var status: ExperitureStatus?
    let ran = DispatchSemaphore(value: 0)
    func set(_ value: Experiture?) {
      lock.lock()
      sdk = value
      lock.unlock()
    }
    func take() -> Experiture? {
      lock.lock()
      defer { lock.unlock() }
      let value = sdk
      sdk = nil
      return value
    }
    func done(_ value: ExperitureStatus?) {
      status = value
      ran.signal()
    }
  }

  private func expectClosed(_ call: () throws -> Void) {
    XCTAssertThrowsError(try call()) { error in
      XCTAssertEqual((error as? ExperitureError)?.status, .closed, "\(error)")
    }
  }

  /// Before the fix this aborted the process (a joinable native thread was destroyed).
  func testCloseInsideTheListenerReturnsAndTheAppsCloseFinishesIt() throws {
    let box = Box()
    var config = config("listener.db")
    config.deliveryListener = { event in
      guard event.kind == .delivered, let sdk = box.take() else { return }
      box.done(try? sdk.close())
      box.set(nil)
    }
    let sdk = try Experiture(config: config)
    box.set(sdk)
    try sdk.upsert("profiles", record: ["email": "listener@example.com"], matchKey: "email")
    XCTAssertEqual(box.ran.wait(timeout: .now() + 20), .success)
    XCTAssertEqual(box.status, .ok)
    expectClosed { try sdk.upsert("profiles", record: ["email": "late@example.com"], matchKey: "email") }
    XCTAssertEqual(try sdk.close(), .ok)
  }

  func testCloseInsideTheTokenProviderReturnsAndTheAppsCloseFinishesIt() throws {
    let box = Box()
    let opened = DispatchSemaphore(value: 0)
    var config = config("provider.db")
    config.token = nil
    config.tokenProvider = { _ in
      _ = opened.wait(timeout: .now() + 20)
      opened.signal()
      if let sdk = box.take() { box.done(try? sdk.close()) }
      return "swift-boundary"
    }
    let sdk = try Experiture(config: config)
    box.set(sdk)
    opened.signal()
    try sdk.upsert("profiles", record: ["email": "provider@example.com"], matchKey: "email")
    XCTAssertEqual(box.ran.wait(timeout: .now() + 20), .success)
    XCTAssertEqual(box.status, .ok)
    XCTAssertEqual(try sdk.close(), .ok)
  }

  /// The app's last reference goes away inside the listener: deinit runs on the SDK's thread,
  /// which cannot join itself; the SDK releases the client when the callback returns.
  func testTheLastReferenceDroppedInsideTheListenerReleasesTheClient() throws {
    let box = Box()
    let released = DispatchSemaphore(value: 0)
    // Released with the listener, i.e. when the SDK has let go of the client's callbacks.
    final class Witness: @unchecked Sendable {
      let released: DispatchSemaphore
      init(_ released: DispatchSemaphore) { self.released = released }
      deinit { released.signal() }
    }
    var witness: Witness? = Witness(released)
    var config = config("last-reference.db")
    config.deliveryListener = { [witness] event in
      _ = witness
      guard event.kind == .delivered, box.take() != nil else { return }
      box.done(nil)  // the box held the last reference: deinit ran inside take()'s caller
    }
    witness = nil
    func openAndHandOver() throws {
      let sdk = try Experiture(config: config)
      box.set(sdk)
      try sdk.upsert("profiles", record: ["email": "last@example.com"], matchKey: "email")
    }
    try openAndHandOver()
    XCTAssertEqual(box.ran.wait(timeout: .now() + 20), .success)
    config.deliveryListener = nil
    XCTAssertEqual(released.wait(timeout: .now() + 20), .success, "the SDK released the client")
    // The outbox is free again: a new client opens it and delivers what is left.
    let next = try Experiture(config: self.config("last-reference.db"))
    XCTAssertEqual(try next.flush(timeoutMs: 20_000), .ok)
    XCTAssertNotNil(try emulator.profile("email", "last@example.com"))
  }

  /// Before the fix some rounds ended with one profile holding both people's identifiers.
  func testTwoLoginsAtOnceNeverLinkOneDeviceToTwoPeople() throws {
    let rounds = 25
    var merged = 0
    for round in 0..<rounds {
      let sdk = try Experiture(config: config("logins-\(round).db"))
      let errors = Events()
      DispatchQueue.concurrentPerform(iterations: 2) { i in
        let who = (i == 0 ? "a" : "b") + "-\(round)"
        do {
          try sdk.login(email: "person-\(who)@example.com", customerId: "cust-\(who)")
        } catch {
          errors.append(DeliveryEvent(kind: .dropped, count: 0, reason: "\(error)"))
        }
      }
      XCTAssertTrue(errors.all.isEmpty, "\(errors.all)")
      XCTAssertEqual(try sdk.flush(timeoutMs: 20_000), .ok)
      XCTAssertEqual(try sdk.close(), .ok)
      let a = try XCTUnwrap(emulator.profile("email", "person-a-\(round)@example.com"))
      let b = try XCTUnwrap(emulator.profile("email", "person-b-\(round)@example.com"))
      if "\(a)".contains("person-b-\(round)") || "\(b)".contains("person-a-\(round)") {
        merged += 1
      }
    }
    XCTAssertEqual(merged, 0, "rounds with one profile holding two people")
  }

  func testEveryCallAfterCloseThrowsClosedAtOnce() throws {
    let sdk = try Experiture(config: config("after-close.db"))
    XCTAssertEqual(try sdk.close(), .ok)
    expectClosed { try sdk.upsert("profiles", record: ["email": "x@example.com"], matchKey: "email") }
    expectClosed { try sdk.login(email: "x@example.com") }
    expectClosed { try sdk.logout() }
    expectClosed { try sdk.setPushToken("t") }
    expectClosed { _ = try sdk.flush(timeoutMs: 10) }
    expectClosed { _ = try sdk.stats() }
    XCTAssertEqual(try sdk.close(), .ok)
  }
}
