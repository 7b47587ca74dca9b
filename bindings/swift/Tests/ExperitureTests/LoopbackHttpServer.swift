import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The Swift twin of the C++ contract server (tests/support/http_client_contract.cpp): HTTP/1.1
/// on 127.0.0.1 with keep-alive, a thread per connection, raw sockets so connections can be
/// counted. Routes: /echo (200 + request body + "X-Mixed-Case: Mixed Value"), /status/N, /hang
/// (never answers), /close (closes without answering), /chunked/N (200 with a chunked body of N
/// bytes in 64 KiB chunks, stopping early when the client goes away; see `streamedBytes`).
final class LoopbackHttpServer: @unchecked Sendable {
  /// One request as received; header values as raw bytes.
  struct Received {
    var method = ""
    var target = ""
    var headers: [(name: String, value: [UInt8])] = []
    var body: [UInt8] = []

    func header(_ name: String) -> [UInt8]? {
      headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }
  }

  let port: UInt16
  private let listener: Int32
  private let condition = NSCondition()
  private var connectionFds: [Int32] = []  // guarded by condition
  private var received: [Received] = []  // guarded by condition
  private var held = 0  // guarded by condition
  private var running = 0  // threads alive, guarded by condition
  private var stopping = false  // guarded by condition
  private var streamed = 0  // body bytes sent by /chunked, guarded by condition

  init() throws {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer -> Bool in
        bind(fd, pointer, length) == 0 && listen(fd, 64) == 0
          && getsockname(fd, pointer, &length) == 0
      }
    }
    guard bound else {
      close(fd)
      throw POSIXError(.EADDRNOTAVAIL)
    }
    listener = fd
    port = UInt16(bigEndian: address.sin_port)
    startThread { self.acceptLoop() }
  }

  func url(_ path: String) -> String { "http://127.0.0.1:\(port)\(path)" }

  var connections: Int {
    condition.lock()
    defer { condition.unlock() }
    return connectionFds.count
  }

  var requests: [Received] {
    condition.lock()
    defer { condition.unlock() }
    return received
  }

  /// Body bytes /chunked/N sent so far.
  var streamedBytes: Int {
    condition.lock()
    defer { condition.unlock() }
    return streamed
  }

  /// Waits until `count` requests hang in /hang; false after 20 s.
  func waitForHeld(_ count: Int) -> Bool {
    let deadline = Date(timeIntervalSinceNow: 20)
    condition.lock()
    defer { condition.unlock() }
    while held < count {
      if !condition.wait(until: deadline) { return held >= count }
    }
    return true
  }

  /// Closes every connection and joins every thread.
  func stop() {
    condition.lock()
    stopping = true
    for fd in connectionFds { shutdown(fd, Int32(SHUT_RDWR)) }
    condition.broadcast()
    condition.unlock()
    shutdown(listener, Int32(SHUT_RDWR))  // wakes accept()
    condition.lock()
    while running > 0 { condition.wait() }
    condition.unlock()
    close(listener)
    condition.lock()
    for fd in connectionFds { close(fd) }
    connectionFds = []
    condition.unlock()
  }

  private func startThread(_ body: @escaping @Sendable () -> Void) {
    condition.lock()
    running += 1
    condition.unlock()
    let thread = Thread {
      body()
      self.condition.lock()
      self.running -= 1
      self.condition.broadcast()
      self.condition.unlock()
    }
    thread.start()
  }

  private func acceptLoop() {
    while true {
      let fd = accept(listener, nil, nil)
      if fd < 0 { return }
      condition.lock()
      if stopping {
        condition.unlock()
        close(fd)
        return
      }
      connectionFds.append(fd)
      condition.unlock()
      startThread { self.serve(fd) }
    }
  }

  private func serve(_ fd: Int32) {
    var reader = Reader(fd: fd)
    while let request = reader.request() {
      condition.lock()
      received.append(request)
      condition.unlock()
      if request.target == "/echo" {
        respond(fd, 200, request.body)
      } else if request.target.hasPrefix("/status/") {
        let code = Int(request.target.dropFirst(8)) ?? 500
        respond(fd, code, Array("status \(code)".utf8))
      } else if request.target == "/hang" {
        condition.lock()
        held += 1
        condition.broadcast()
        while !stopping { condition.wait() }
        condition.unlock()
        return
      } else if request.target == "/close" {
        shutdown(fd, Int32(SHUT_RDWR))
        return
      } else if request.target.hasPrefix("/chunked/") {
        streamChunked(fd, total: Int(request.target.dropFirst(9)) ?? 0)
        shutdown(fd, Int32(SHUT_RDWR))
        return
      } else {
        respond(fd, 404, Array("no such route".utf8))
      }
    }
  }

  private func streamChunked(_ fd: Int32, total: Int) {
    let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
      + "Transfer-Encoding: chunked\r\n\r\n"
    guard sendAll(fd, Array(head.utf8)) else { return }
    let chunk = Array("10000\r\n".utf8) + [UInt8](repeating: UInt8(ascii: "x"), count: 65536)
      + Array("\r\n".utf8)
    var sent = 0
    while sent + 65536 <= total {
      guard sendAll(fd, chunk) else { return }
      sent += 65536
      condition.lock()
      streamed = sent
      condition.unlock()
    }
    _ = sendAll(fd, Array("0\r\n\r\n".utf8))
  }

  private func sendAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
    var sent = 0
    while sent < bytes.count {
      let n = bytes[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
      if n <= 0 { return false }
      sent += n
    }
    return true
  }

  private func respond(_ fd: Int32, _ status: Int, _ body: [UInt8]) {
    let head = "HTTP/1.1 \(status) Status\r\nContent-Length: \(body.count)\r\n"
      + "Content-Type: application/octet-stream\r\nX-Mixed-Case: Mixed Value\r\n\r\n"
    let bytes = Array(head.utf8) + body
    var sent = 0
    while sent < bytes.count {
      let n = bytes[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
      if n <= 0 { return }
      sent += n
    }
  }

  /// Buffered reads of one connection; Content-Length bodies only.
  private struct Reader {
    let fd: Int32
    var buffer: [UInt8] = []

    init(fd: Int32) { self.fd = fd }

    mutating func request() -> Received? {
      var headEnd: Int?
      while headEnd == nil {
        headEnd = find([13, 10, 13, 10])
        if headEnd == nil && !fill() { return nil }
      }
      let headBytes = Array(buffer[..<headEnd!])
      buffer.removeFirst(headEnd! + 4)
      var request = Received()
      var lines = split(headBytes)
      let requestLine = String(decoding: lines.removeFirst(), as: UTF8.self).split(separator: " ")
      guard requestLine.count >= 2 else { return nil }
      request.method = String(requestLine[0])
      request.target = String(requestLine[1])
      var contentLength = 0
      for line in lines {
        guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else { continue }
        let name = String(decoding: line[..<colon], as: UTF8.self)
        var value = Array(line[(colon + 1)...])
        while value.first == 32 { value.removeFirst() }
        while value.last == 32 { value.removeLast() }
        if name.lowercased() == "content-length" {
          contentLength = Int(String(decoding: value, as: UTF8.self)) ?? 0
        }
        request.headers.append((name, value))
      }
      while buffer.count < contentLength {
        if !fill() { return nil }
      }
      request.body = Array(buffer[..<contentLength])
      buffer.removeFirst(contentLength)
      return request
    }

    private func find(_ needle: [UInt8]) -> Int? {
      guard buffer.count >= needle.count else { return nil }
      for i in 0...(buffer.count - needle.count) where Array(buffer[i..<(i + needle.count)]) == needle {
        return i
      }
      return nil
    }

    private func split(_ bytes: [UInt8]) -> [[UInt8]] {
      var lines: [[UInt8]] = []
      var current: [UInt8] = []
      var i = 0
      while i < bytes.count {
        if bytes[i] == 13 && i + 1 < bytes.count && bytes[i + 1] == 10 {
          lines.append(current)
          current = []
          i += 2
        } else {
          current.append(bytes[i])
          i += 1
        }
      }
      lines.append(current)
      return lines
    }

    private mutating func fill() -> Bool {
      var chunk = [UInt8](repeating: 0, count: 16 * 1024)
      let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
      if n <= 0 { return false }
      buffer.append(contentsOf: chunk[..<n])
      return true
    }
  }
}
