import Experiture
import Foundation
import XCTest

/// A fresh experiture-emulator and temporary folder for each test; `baseConfig(_:)` points a
/// client's outbox into the folder and its endpoint at the emulator.
class EmulatorTestCase: XCTestCase {
  var emulator: Emulator!
  var dir: URL!

  override func setUpWithError() throws {
    try super.setUpWithError()
    emulator = try Emulator()
    dir = FileManager.default.temporaryDirectory
      .appendingPathComponent("experiture-swift-\(type(of: self))-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
  }

  override func tearDown() {
    emulator = nil
    if let dir = dir { try? FileManager.default.removeItem(at: dir) }
    super.tearDown()
  }

  /// A configuration with the outbox `dir/name` and the emulator's endpoint.
  func baseConfig(_ name: String) -> ExperitureConfig {
    var config = ExperitureConfig(storagePath: dir.appendingPathComponent(name).path)
    config.endpoint = emulator.baseURL
    return config
  }
}
