import Dispatch
import Foundation
import XCTest

@testable import Experiture

/// The lifecycle mapping (the platform-independent half of the UIKit / Network integration):
/// app events and connectivity -> hints, and the background task around the background flush.
final class LifecycleMapperTests: XCTestCase {
  func testForegroundAndBackgroundMapToTheHintsAndARepeatedEventIsPassedOnOnce() {
    let hints = RecordingHints()
    let mapper = LifecycleMapper(sdk: hints)
    mapper.handle(.foreground)
    mapper.handle(.foreground)
    mapper.handle(.background)
    mapper.handle(.background)
    mapper.handle(.foreground)
    XCTAssertEqual(hints.calls, ["foreground", "background", "foreground"])
  }

  func testConnectivityReachesSetOnlineOnlyWhenThePathStateChanges() {
    let hints = RecordingHints()
    let mapper = LifecycleMapper(sdk: hints)
    mapper.pathChanged(satisfied: true)
    mapper.pathChanged(satisfied: true)
    mapper.pathChanged(satisfied: false)
    mapper.pathChanged(satisfied: false)
    mapper.pathChanged(satisfied: true)
    XCTAssertEqual(hints.calls, ["online", "offline", "online"])
  }

  func testBackgroundFlushesInsideABackgroundTaskThatEndsOnceWhenTheFlushReturns() {
    let hints = RecordingHints()
    let tasks = RecordingTasks()
    let mapper = LifecycleMapper(sdk: hints, backgroundTasks: tasks, backgroundFlushTimeoutMs: 1234)
    mapper.handle(.background)
    XCTAssertEqual(hints.flushStarted.wait(timeout: .now() + 10), .success)
    XCTAssertEqual(tasks.begun, ["experiture.flush"])
    XCTAssertEqual(tasks.ended, [], "the task runs while the flush waits")
    XCTAssertEqual(hints.flushTimeouts, [1234])
    hints.finishFlush.signal()
    XCTAssertEqual(tasks.endedSignal.wait(timeout: .now() + 10), .success)
    XCTAssertEqual(tasks.ended, [1])
    XCTAssertEqual(hints.calls, ["background", "flush"])
  }

  func testWhenTheSystemExpiresTheTaskFirstItIsEndedAtOnceAndNotAgainAfterTheFlush() {
    let hints = RecordingHints()
    let tasks = RecordingTasks()
    let worker = DispatchQueue(label: "test.flush")  // serial: sync {} waits for the flush job
    let mapper = LifecycleMapper(sdk: hints, backgroundTasks: tasks, queue: worker)
    mapper.handle(.background)
    XCTAssertEqual(hints.flushStarted.wait(timeout: .now() + 10), .success)
    tasks.expire()
    XCTAssertEqual(tasks.ended, [1], "ended by the expiration handler, the flush still waiting")
    hints.finishFlush.signal()
    worker.sync {}  // the flush job, with its own end(), has finished
    XCTAssertEqual(tasks.ended, [1])
  }

  func testAnExpirationBeforeBeginReturnedEndsTheTaskAsSoonAsItsTokenIsKnown() {
    let hints = RecordingHints()
    let tasks = RecordingTasks(expireInsideBegin: true)
    let worker = DispatchQueue(label: "test.flush")
    let mapper = LifecycleMapper(sdk: hints, backgroundTasks: tasks, queue: worker)
    mapper.handle(.background)
    XCTAssertEqual(tasks.ended, [1], "ended once begin returned its token")
    XCTAssertEqual(hints.flushStarted.wait(timeout: .now() + 10), .success)
    hints.finishFlush.signal()
    worker.sync {}
    XCTAssertEqual(tasks.ended, [1])
  }

  func testAClosedSdkIsIgnoredAndTheBackgroundTaskStillEnds() throws {
    let dir = FileManager.default.temporaryDirectory
      .appendingPathComponent("experiture-lifecycle-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let sdk = try Experiture(config: ExperitureConfig(
      storagePath: dir.appendingPathComponent("l.db").path))
    try sdk.close()
    let tasks = RecordingTasks()
    let mapper = LifecycleMapper(sdk: sdk, backgroundTasks: tasks)
    mapper.handle(.background)  // onBackground and flush throw CLOSED: swallowed
    mapper.pathChanged(satisfied: false)
    XCTAssertEqual(tasks.endedSignal.wait(timeout: .now() + 10), .success)
    XCTAssertEqual(tasks.ended, [1])
  }

  func testNotificationsDriveTheMapperThroughLifecycleObserver() {
    let hints = RecordingHints()
    let center = NotificationCenter()
    let background = Notification.Name("test.background")
    let foreground = Notification.Name("test.foreground")
    let observer = LifecycleObserver(mapper: LifecycleMapper(sdk: hints), center: center,
                                     background: [background], foreground: [foreground])
    center.post(name: foreground, object: nil)
    center.post(name: background, object: nil)
    observer.stop()
    center.post(name: foreground, object: nil)
    XCTAssertEqual(hints.calls, ["foreground", "background"])
  }
}

/// Records the hints; `flush` blocks until `finishFlush` is signalled.
final class RecordingHints: LifecycleHints, @unchecked Sendable {
  let flushStarted = DispatchSemaphore(value: 0)
  let finishFlush = DispatchSemaphore(value: 0)
  private let lock = NSLock()
  private var recorded: [String] = []  // guarded by lock
  private var timeouts: [Int64] = []  // guarded by lock

  var calls: [String] { lock.lock(); defer { lock.unlock() }; return recorded }
  var flushTimeouts: [Int64] { lock.lock(); defer { lock.unlock() }; return timeouts }

  private func record(_ call: String) {
    lock.lock()
    recorded.append(call)
    lock.unlock()
  }

  func onBackground() throws { record("background") }
  func onForeground() throws { record("foreground") }
  func setOnline(_ online: Bool) throws { record(online ? "online" : "offline") }
  func flush(timeoutMs: Int64) throws -> ExperitureStatus {
    lock.lock()
    recorded.append("flush")
    timeouts.append(timeoutMs)
    lock.unlock()
    flushStarted.signal()
    finishFlush.wait()
    return .ok
  }
}

/// A BackgroundTaskRunner that hands out tokens 1, 2, ... and records begin/end.
final class RecordingTasks: BackgroundTaskRunner, @unchecked Sendable {
  let endedSignal = DispatchSemaphore(value: 0)
  private let expireInsideBegin: Bool
  private let lock = NSLock()
  private var names: [String] = []  // guarded by lock
  private var endedTokens: [Int] = []  // guarded by lock
  private var handlers: [@Sendable () -> Void] = []  // guarded by lock

  init(expireInsideBegin: Bool = false) { self.expireInsideBegin = expireInsideBegin }

  var begun: [String] { lock.lock(); defer { lock.unlock() }; return names }
  var ended: [Int] { lock.lock(); defer { lock.unlock() }; return endedTokens }

  func begin(name: String, expired: @escaping @Sendable () -> Void) -> Int {
    lock.lock()
    names.append(name)
    handlers.append(expired)
    let token = names.count
    lock.unlock()
    if expireInsideBegin { expired() }
    return token
  }

  func end(_ token: Int) {
    lock.lock()
    endedTokens.append(token)
    lock.unlock()
    endedSignal.signal()
  }

  /// The system's "time is up" for every task begun.
  func expire() {
    lock.lock()
    let pending = handlers
    lock.unlock()
    for handler in pending { handler() }
  }
}
