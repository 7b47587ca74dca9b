import Dispatch
import Foundation

// Swift habits over the core API: async waiting calls and Codable records.
extension Experiture {
  // MARK: async waiting calls

  /// `persist(timeoutMs:)` without blocking the caller's thread (or the cooperative pool): the
  /// wait runs on a Dispatch worker. `.ok` or `.timeout`; throws `ExperitureError` otherwise.
  /// Cancelling the calling task does not end the wait early; `timeoutMs` bounds it.
  @discardableResult
  public func persist(timeoutMs: Int64) async throws -> ExperitureStatus {
    try await offThread { try self.persist(timeoutMs: timeoutMs) }
  }

  /// `flush(timeoutMs:)` (deliver everything accepted before the call) without blocking the
  /// caller: `.ok`, `.timeout`, or `.paused` when delivery cannot progress (`stats()` says why).
  @discardableResult
  public func flush(timeoutMs: Int64) async throws -> ExperitureStatus {
    try await offThread { try self.flush(timeoutMs: timeoutMs) }
  }

  /// `close(timeoutMs:)` without blocking the caller. Idempotent.
  @discardableResult
  public func close(timeoutMs: Int64 = Experiture.defaultCloseTimeoutMs) async throws
    -> ExperitureStatus
  {
    try await offThread { try self.close(timeoutMs: timeoutMs) }
  }

  private func offThread(_ call: @escaping @Sendable () throws -> ExperitureStatus) async throws
    -> ExperitureStatus
  {
    try await withCheckedThrowingContinuation { continuation in
      DispatchQueue.global(qos: .utility).async {
        continuation.resume(with: Result { try call() })
      }
    }
  }

  // MARK: Codable records

  /// The encoder the Codable overloads use by default: dates as ISO 8601 UTC with `Z` (the API
  /// rejects timestamps without a zone), keys sorted, slashes unescaped.
  public static func recordEncoder() -> JSONEncoder {
    let encoder = JSONEncoder()
    encoder.dateEncodingStrategy = .iso8601
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    return encoder
  }

  /// Accepts an upsert of an `Encodable` value that encodes to a JSON object, keyed by its field
  /// `matchKey`. Synthesised `Encodable` omits nil optionals, and an omitted field is kept by the
  /// server (field-level last-write-wins); to clear a field, encode an explicit null
  /// (`encodeNil(forKey:)`). Throws `.invalidJSON` when encoding fails, else as the JSON overload.
  public func upsert<Record: Encodable>(
    _ object: String, _ record: Record, matchKey: String,
    encoder: JSONEncoder = Experiture.recordEncoder()
  ) throws {
    try upsert(object, json: Experiture.encode(record, encoder), matchKey: matchKey)
  }

  /// Accepts an event row from an `Encodable` value that encodes to a JSON object.
  public func append<Record: Encodable>(
    _ object: String, _ record: Record, encoder: JSONEncoder = Experiture.recordEncoder()
  ) throws {
    try append(object, json: Experiture.encode(record, encoder))
  }

  static func encode<Record: Encodable>(_ record: Record, _ encoder: JSONEncoder) throws -> String {
    do {
      return String(decoding: try encoder.encode(record), as: UTF8.self)
    } catch {
      throw ExperitureError(.invalidJSON,
                            message: "record: cannot be encoded as JSON (\(type(of: error)))")
    }
  }
}
