import Experiture
import Foundation
import XCTest

/// The phone normaliser hook through the C ABI, and the package's built-in E.164-only rule (the
/// package compiles the core without libphonenumber), against the real emulator.
final class PhoneNormalizerTests: EmulatorTestCase {
  private func config(_ name: String) -> ExperitureConfig {
    var config = baseConfig(name)
    config.token = "swift-test-token"
    config.defaultPhoneRegion = "GB"
    config.flushIntervalMs = 50
    return config
  }

  private func expectInvalidPhone(_ mention: String, file: StaticString = #filePath,
                                  line: UInt = #line, _ call: () throws -> Void) {
    XCTAssertThrowsError(try call(), file: file, line: line) { error in
      guard let error = error as? ExperitureError else {
        return XCTFail("not an ExperitureError: \(error)", file: file, line: line)
      }
      XCTAssertEqual(error.status, .invalidPhone, error.description, file: file, line: line)
      XCTAssertTrue(error.message.contains(mention), error.message, file: file, line: line)
    }
  }

  func testTheAppNormaliserTurnsANationalNumberIntoTheDeliveredE164() throws {
    let calls = Counter()
    var config = config("hook.db")
    config.phoneNormalizer = { raw, region in
      _ = calls.increment()
      guard region == "GB" else { return nil }
      if raw == "020 7946 0958" || raw == "+442079460958" { return "+442079460958" }
      if raw == "broken" { return "442079460958" }  // not E.164: refused
      return nil
    }
    let sdk = try Experiture(config: config)
    try sdk.upsert("profiles", record: ["phone": "020 7946 0958", "tier": "swift-hook"],
                   matchKey: "phone")
    expectInvalidPhone("phone") {
      try sdk.upsert("profiles", record: ["phone": "broken"], matchKey: "phone")
    }
    expectInvalidPhone("login.phone") { try sdk.login(phone: "07700 900123") }
    XCTAssertEqual(try sdk.flush(timeoutMs: 20_000), .ok)
    XCTAssertEqual(try sdk.close(timeoutMs: 5000), .ok)
    XCTAssertGreaterThanOrEqual(calls.value, 3)
    let profile = try XCTUnwrap(emulator.profile("phone", "+442079460958"))
    let fields = try XCTUnwrap(profile["fields"] as? [String: Any])
    XCTAssertEqual(fields["tier"] as? String, "swift-hook")
  }

  func testWithoutAHookOnlyE164PassesAndANationalNumberIsRefusedWithTheReason() throws {
    let sdk = try Experiture(config: config("builtin.db"))
    try sdk.upsert("profiles", record: ["phone": "+44 (20) 7946-0958", "tier": "swift-e164"],
                   matchKey: "phone")
    expectInvalidPhone("national number needs a phone normaliser") {
      try sdk.upsert("profiles", record: ["phone": "020 7946 0958"], matchKey: "phone")
    }
    expectInvalidPhone("national number needs a phone normaliser") {
      try sdk.login(phone: "07700 900123")
    }
    XCTAssertEqual(try sdk.flush(timeoutMs: 20_000), .ok)
    XCTAssertEqual(try sdk.close(timeoutMs: 5000), .ok)
    let profile = try XCTUnwrap(emulator.profile("phone", "+442079460958"))
    let fields = try XCTUnwrap(profile["fields"] as? [String: Any])
    XCTAssertEqual(fields["tier"] as? String, "swift-e164")
  }
}
