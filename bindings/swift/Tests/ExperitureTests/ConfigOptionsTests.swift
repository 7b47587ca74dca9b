import Experiture
import Foundation
import XCTest

/// Options added through the config table (experiture/config_options.inc) reach the core from
/// Swift: the loud cleartext opt-in and the default logger's level.
final class ConfigOptionsTests: XCTestCase {
  private var dir: URL!

  override func setUpWithError() throws {
    dir = FileManager.default.temporaryDirectory
      .appendingPathComponent("experiture-swift-options-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
  }

  override func tearDown() {
    if let dir = dir { try? FileManager.default.removeItem(at: dir) }
  }

  private func config(_ name: String) -> ExperitureConfig {
    ExperitureConfig(storagePath: dir.appendingPathComponent(name).path)
  }

  private func expectInvalidConfig(naming field: String, _ config: ExperitureConfig,
                                   line: UInt = #line) {
    XCTAssertThrowsError(try Experiture(config: config), line: line) { error in
      let error = error as? ExperitureError
      XCTAssertEqual(error?.status, .invalidConfig, "\(String(describing: error))", line: line)
      XCTAssertTrue(error?.message.contains(field) ?? false, "\(String(describing: error))",
                    line: line)
    }
  }

  func testCleartextToAFarHostNeedsTheLoudOptIn() throws {
    var config = config("optin.db")
    config.endpoint = "http://203.0.113.7/public/v1"
    expectInvalidConfig(naming: "endpoint", config)
    config.allowInsecureHttpForTesting = true
    let sdk = try Experiture(config: config)
    XCTAssertFalse(try sdk.deviceId().isEmpty)
    XCTAssertEqual(try sdk.close(timeoutMs: 5000), .ok)
  }

  func testTheLogLevelReachesTheCore() throws {
    var config = config("level.db")
    config.logLevel = "loud"
    expectInvalidConfig(naming: "log_level", config)
    config.logLevel = "off"
    let sdk = try Experiture(config: config)
    XCTAssertEqual(try sdk.close(timeoutMs: 5000), .ok)
  }
}
