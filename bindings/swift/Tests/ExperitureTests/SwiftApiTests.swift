import Foundation
import XCTest

@testable import Experiture

/// async waiting calls, Codable records and the error enum, through the real core with an
/// in-process HttpClient that answers every batch with 200 (no emulator needed).
final class SwiftApiTests: XCTestCase {
  private var dir: URL!

  override func setUpWithError() throws {
    dir = FileManager.default.temporaryDirectory
      .appendingPathComponent("experiture-swift-api-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
  }

  override func tearDownWithError() throws {
    try? FileManager.default.removeItem(at: dir)
  }

  private func open(_ client: AcceptingHttpClient) throws -> Experiture {
    var config = ExperitureConfig(storagePath: dir.appendingPathComponent("api.db").path)
    config.endpoint = "http://127.0.0.1:9/public/v1"  // never dialled: the client answers
    config.token = "t"
    config.transport = .custom(client)
    return try Experiture(config: config)
  }

  struct Visit: Codable {
    var email: String
    var tier: String?
    var visitedAt: Date
    var tags: [String]

    enum CodingKeys: String, CodingKey {
      case email, tier, tags
      case visitedAt = "visited_at"
    }
  }

  func testACodableRecordIsDeliveredAsItsJSONWithISO8601DatesAndNilOptionalsOmitted() async throws {
    let client = AcceptingHttpClient()
    let sdk = try open(client)
    let visitedAt = Date(timeIntervalSince1970: 1_776_785_400)  // 2026-04-21T15:30:00Z
    try sdk.upsert("profiles", Visit(email: "ada@example.com", tier: nil, visitedAt: visitedAt,
                                     tags: ["a/b", "🚀"]), matchKey: "email")
    try sdk.append("events", Visit(email: "ada@example.com", tier: "gold", visitedAt: visitedAt,
                                   tags: []))
    let flushed = try await sdk.flush(timeoutMs: 20_000)
    XCTAssertEqual(flushed, .ok)

    let bodies = client.bodies.compactMap {
      try? JSONSerialization.jsonObject(with: $0) as? [String: Any]
    }
    let records = bodies.flatMap { ($0["records"] as? [[String: Any]]) ?? [$0["record"]]
      .compactMap { $0 as? [String: Any] } }
    let profile = try XCTUnwrap(records.first { $0["tags"] as? [String] == ["a/b", "🚀"] })
    XCTAssertEqual(profile["visited_at"] as? String, "2026-04-21T15:30:00Z")
    XCTAssertNil(profile["tier"], "a nil optional is omitted, so the server keeps the field")
    let event = try XCTUnwrap(records.first { $0["tier"] as? String == "gold" })
    XCTAssertEqual(event["visited_at"] as? String, "2026-04-21T15:30:00Z")
    let closed = try await sdk.close()
    XCTAssertEqual(closed, .ok)
  }

  func testAValueThatIsNotAJSONObjectIsRejectedWithTheStatusInTheErrorEnum() throws {
    let sdk = try open(AcceptingHttpClient())
    XCTAssertThrowsError(try sdk.upsert("profiles", ["just", "an", "array"], matchKey: "email")) {
      guard case ExperitureError.status(.recordNotObject, let message) = $0 else {
        return XCTFail("expected .status(.recordNotObject, _), got \($0)")
      }
      XCTAssertFalse(message.isEmpty)
    }
    struct NoEmail: Encodable { var tier = "gold" }
    do {
      try sdk.upsert("profiles", NoEmail(), matchKey: "email")
      XCTFail("accepted a record without its match key")
    } catch ExperitureError.status(.matchKeyMissing, let message) {
      XCTAssertTrue(message.contains("email"), message)
    }
    struct Broken: Encodable {
      func encode(to encoder: Encoder) throws {
        throw EncodingError.invalidValue(0, .init(codingPath: [], debugDescription: "no"))
      }
    }
    XCTAssertThrowsError(try sdk.append("events", Broken())) {
      XCTAssertEqual(($0 as? ExperitureError)?.status, .invalidJSON)
    }
  }

  func testAnUnknownStatusCodeKeepsItsCodeAndMessage() {
    let error = ExperitureError(code: 9999, message: "from a newer core")
    XCTAssertEqual(error, .unknownStatus(code: 9999, message: "from a newer core"))
    XCTAssertNil(error.status)
    XCTAssertEqual(error.code, 9999)
    XCTAssertEqual(error.name, "UNKNOWN")
    XCTAssertEqual(ExperitureError(code: 10, message: "m"), .status(.invalidEmail, message: "m"))
  }

  func testAsyncPersistAndCloseDoNotBlockTheCallerAndCloseIsFinal() async throws {
    let sdk = try open(AcceptingHttpClient())
    try sdk.upsert("profiles", ["email": "grace@example.com"], matchKey: "email")
    let persisted = try await sdk.persist(timeoutMs: 20_000)
    XCTAssertEqual(persisted, .ok)
    let closed = try await sdk.close(timeoutMs: 5000)
    XCTAssertEqual(closed, .ok)
    do {
      _ = try await sdk.flush(timeoutMs: 100)
      XCTFail("flush after close succeeded")
    } catch ExperitureError.status(.closed, _) {
    }
  }
}

/// Answers every request with 200 and an empty success envelope; keeps the bodies.
final class AcceptingHttpClient: HttpClient, @unchecked Sendable {
  private let lock = NSLock()
  private var received: [Data] = []  // guarded by lock

  var bodies: [Data] {
    lock.lock()
    defer { lock.unlock() }
    return received
  }

  func send(_ request: HttpRequest, completion: @escaping @Sendable (HttpResponse) -> Void) {
    lock.lock()
    received.append(request.body)
    lock.unlock()
    completion(HttpResponse(status: 200, headers: [HttpHeader("content-type", "application/json")],
                            body: Data(#"{"success":true,"data":{}}"#.utf8)))
  }

  func cancelAll() {}
}
