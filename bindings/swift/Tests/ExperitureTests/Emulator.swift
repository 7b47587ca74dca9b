import Foundation
import XCTest
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
#if canImport(Glibc)
import Glibc
#endif

/// experiture-emulator (path in env EXPERITURE_EMULATOR) as a child process on a loopback port.
final class Emulator {
  let port: Int
  private let process = Process()
  private let session = URLSession(configuration: .ephemeral)

  /// Skips the test when EXPERITURE_EMULATOR is not set (plain `swift test` outside ctest).
  init() throws {
    guard let path = ProcessInfo.processInfo.environment["EXPERITURE_EMULATOR"], !path.isEmpty
    else {
      throw XCTSkip("EXPERITURE_EMULATOR is not set (ctest sets it)")
    }
    let stdout = Pipe()
    process.executableURL = URL(fileURLWithPath: path)
    process.arguments = ["--port", "0"]
    process.standardOutput = stdout
    try process.run()
    // The bound port, alone on the first line.
    var line = Data()
    while !line.contains(UInt8(ascii: "\n")) {
      let chunk = stdout.fileHandleForReading.availableData
      if chunk.isEmpty { break }
      line.append(chunk)
    }
    let text = String(decoding: line, as: UTF8.self).split(separator: "\n").first ?? ""
    guard let port = Int(text.trimmingCharacters(in: .whitespaces)) else {
      process.terminate()
      throw NSError(domain: "Emulator", code: 1,
                    userInfo: [NSLocalizedDescriptionKey: "the emulator printed no port"])
    }
    self.port = port
  }

  deinit {
    // It holds nothing worth a clean stop (memory state), and a clean stop waits out idle
    // keep-alive connections.
    if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    process.waitUntilExit()
    session.invalidateAndCancel()
  }

  /// "http://127.0.0.1:P/public/v1"
  var baseURL: String { "http://127.0.0.1:\(port)/public/v1" }

  /// The profile carrying key=value (fields, identifiers, id...), or nil when there is none.
  func profile(_ key: String, _ value: String) throws -> [String: Any]? {
    var components = URLComponents(string: "http://127.0.0.1:\(port)/_emulator/profile")!
    components.queryItems = [URLQueryItem(name: "key", value: key),
                             URLQueryItem(name: "value", value: value)]
    // '+' is a space in query strings the emulator decodes.
    components.percentEncodedQuery = components.percentEncodedQuery?
      .replacingOccurrences(of: "+", with: "%2B")
    let (status, body) = try get(components.url!)
    if status == 404 { return nil }
    XCTAssertEqual(status, 200)
    return try JSONSerialization.jsonObject(with: body) as? [String: Any]
  }

  /// Every profile of `profiles`.
  func profiles() throws -> [[String: Any]] {
    let (_, body) = try get(URL(string: "http://127.0.0.1:\(port)/_emulator/profiles")!)
    let json = try JSONSerialization.jsonObject(with: body) as? [String: Any]
    return json?["profiles"] as? [[String: Any]] ?? []
  }

  private func get(_ url: URL) throws -> (Int, Data) {
    final class Outcome: @unchecked Sendable {  // written before signal(), read after wait()
      var result: Result<(Int, Data), Error> = .failure(URLError(.unknown))
    }
    let outcome = Outcome()
    let done = DispatchSemaphore(value: 0)
    session.dataTask(with: url) { data, response, error in
      if let error = error {
        outcome.result = .failure(error)
      } else {
        outcome.result = .success(((response as? HTTPURLResponse)?.statusCode ?? 0, data ?? Data()))
      }
      done.signal()
    }.resume()
    done.wait()
    return try outcome.result.get()
  }
}
