import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
#if canImport(Security) && canImport(CryptoKit)
import CryptoKit
import Security
#endif

/// Public-key pins in curl's format: `"sha256//<base64 of SHA-256(SubjectPublicKeyInfo DER)>"`,
/// several separated by `;`. As with curl, the server's own (leaf) certificate must match one.
struct PublicKeyPins: Sendable, Equatable {
  let pins: Set<String>

  /// Parses "sha256//...;sha256//..."; "" means no pinning. Throws `.invalidConfig` naming the
  /// field and the rule for a malformed pin.
  init(parsing text: String) throws {
    var pins = Set<String>()
    if !text.trimmingCharacters(in: .whitespaces).isEmpty {
      for raw in text.split(separator: ";", omittingEmptySubsequences: false) {
        let pin = raw.trimmingCharacters(in: .whitespaces)
        let body = pin.dropFirst("sha256//".count)
        guard pin.hasPrefix("sha256//"), body.count == 44, body.hasSuffix("="),
              let digest = Data(base64Encoded: String(body)), digest.count == 32
        else {
          throw ExperitureError(.invalidConfig, message: "tlsPinnedPublicKeys: each pin must be"
            + " sha256// and the base64 of a SHA-256 (44 characters), ';'-separated")
        }
        pins.insert(pin)
      }
    }
    self.pins = pins
  }

  var isEmpty: Bool { pins.isEmpty }

  /// Whether this platform's URLSession lets the SDK check pins: Apple's Security framework
  /// (server-trust challenges). FoundationNetworking (Linux) offers no server trust to inspect,
  /// so there a client with pins fails every request with `.pinning` instead of ignoring them.
  static var canCheck: Bool {
    #if canImport(Security) && canImport(CryptoKit)
    return true
    #else
    return false
    #endif
  }

  #if canImport(Security) && canImport(CryptoKit)
  /// The pin of the trust's leaf certificate key (RSA 2048/3072/4096, EC P-256/P-384), or nil.
  static func leafPin(_ trust: SecTrust) -> String? {
    let leaf: SecCertificate?
    if #available(iOS 15, macOS 12, tvOS 15, watchOS 8, *) {
      leaf = (SecTrustCopyCertificateChain(trust) as? [SecCertificate])?.first
    } else {
      leaf = SecTrustGetCertificateAtIndex(trust, 0)
    }
    guard let certificate = leaf, let key = SecCertificateCopyKey(certificate),
          let attributes = SecKeyCopyAttributes(key) as? [CFString: Any],
          let type = attributes[kSecAttrKeyType] as? String,
          let bits = attributes[kSecAttrKeySizeInBits] as? Int,
          let raw = SecKeyCopyExternalRepresentation(key, nil) as Data?
    else { return nil }
    // SecKeyCopyExternalRepresentation gives the bare key; the pin hashes the DER
    // SubjectPublicKeyInfo, i.e. this algorithm header followed by the key.
    let header: [UInt8]
    if type == (kSecAttrKeyTypeRSA as String) && bits == 2048 {
      header = [0x30, 0x82, 0x01, 0x22, 0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d,
                0x01, 0x01, 0x01, 0x05, 0x00, 0x03, 0x82, 0x01, 0x0f, 0x00]
    } else if type == (kSecAttrKeyTypeRSA as String) && bits == 3072 {
      header = [0x30, 0x82, 0x01, 0xa2, 0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d,
                0x01, 0x01, 0x01, 0x05, 0x00, 0x03, 0x82, 0x01, 0x8f, 0x00]
    } else if type == (kSecAttrKeyTypeRSA as String) && bits == 4096 {
      header = [0x30, 0x82, 0x02, 0x22, 0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d,
                0x01, 0x01, 0x01, 0x05, 0x00, 0x03, 0x82, 0x02, 0x0f, 0x00]
    } else if type == (kSecAttrKeyTypeECSECPrimeRandom as String) && bits == 256 {
      header = [0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06,
                0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00]
    } else if type == (kSecAttrKeyTypeECSECPrimeRandom as String) && bits == 384 {
      header = [0x30, 0x76, 0x30, 0x10, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06,
                0x05, 0x2b, 0x81, 0x04, 0x00, 0x22, 0x03, 0x62, 0x00]
    } else {
      return nil
    }
    let digest = SHA256.hash(data: Data(header) + raw)
    return "sha256//" + Data(digest).base64EncodedString()
  }
  #endif
}

#if canImport(Security) && canImport(CryptoKit)
/// The server-trust half of pinning (Apple platforms; NOT compiled or run on this project's
/// Linux machines): the system's certificate evaluation first (a failure stays a TLS error), then
/// the leaf key against the pins; a mismatch cancels the challenge and marks the task so its
/// completion reports `.pinning`.
final class PinningDelegate: NSObject, URLSessionTaskDelegate, @unchecked Sendable {
  private let pins: PublicKeyPins
  private let lock = NSLock()
  private var refused = Set<Int>()  // task identifiers; guarded by lock

  init(_ pins: PublicKeyPins) {
    self.pins = pins
  }

  func urlSession(_ session: URLSession, task: URLSessionTask,
                  didReceive challenge: URLAuthenticationChallenge,
                  completionHandler: @escaping (URLSession.AuthChallengeDisposition, URLCredential?)
                    -> Void) {
    let space = challenge.protectionSpace
    guard space.authenticationMethod == NSURLAuthenticationMethodServerTrust,
          let trust = space.serverTrust
    else {
      completionHandler(.performDefaultHandling, nil)
      return
    }
    var error: CFError?
    guard SecTrustEvaluateWithError(trust, &error) else {
      completionHandler(.performDefaultHandling, nil)  // untrusted: URLSession fails it as TLS
      return
    }
    if let pin = PublicKeyPins.leafPin(trust), pins.pins.contains(pin) {
      completionHandler(.useCredential, URLCredential(trust: trust))
    } else {
      lock.lock()
      refused.insert(task.taskIdentifier)
      lock.unlock()
      completionHandler(.cancelAuthenticationChallenge, nil)
    }
  }

  /// Whether the task was refused for its pin (and forgets it).
  func takeRefusal(_ taskIdentifier: Int) -> Bool {
    lock.lock()
    defer { lock.unlock() }
    return refused.remove(taskIdentifier) != nil
  }
}
#endif
