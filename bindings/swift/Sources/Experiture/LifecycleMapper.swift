import Dispatch
import Foundation

/// The hints the lifecycle mapping drives; `Experiture` conforms. Every call returns at once
/// except `flush`, which waits at most `timeoutMs`.
public protocol LifecycleHints: AnyObject, Sendable {
  func onBackground() throws
  func onForeground() throws
  func setOnline(_ online: Bool) throws
  func flush(timeoutMs: Int64) throws -> ExperitureStatus
}

extension Experiture: LifecycleHints {}

/// Extra running time after the app leaves the foreground (iOS: `beginBackgroundTask`).
/// `begin` returns a token for `end`; the system may call `expired` first, and then the task
/// must be ended at once. `UIApplicationBackgroundTasks` is the UIKit implementation.
public protocol BackgroundTaskRunner: Sendable {
  func begin(name: String, expired: @escaping @Sendable () -> Void) -> Int
  func end(_ token: Int)
}

/// What the app is doing, as the SDK sees it.
public enum AppLifecycleEvent: Sendable, Equatable {
  /// UIApplication.willEnterForegroundNotification (or the app's own equivalent).
  case foreground
  /// UIApplication.didEnterBackgroundNotification: the app may be suspended soon.
  case background
}

/// The platform-independent half of the lifecycle integration (the UIKit and Network adapters
/// only feed it): app foreground/background and connectivity mapped onto the SDK's hints.
///
/// - foreground -> `onForeground()`, background -> `onBackground()` (delivery starts at once);
///   a repeated event is not passed on twice.
/// - background, with a `BackgroundTaskRunner`: a background task is begun, `flush` runs on a
///   Dispatch worker for at most `backgroundFlushTimeoutMs`, and the task is ended exactly once:
///   when the flush returns or when the system says the time is up, whichever comes first.
/// - connectivity -> `setOnline(_:)` when the path's state changes (the first report always).
///
/// Thread-safe; every method returns at once. Holds the SDK weakly; a closed SDK is ignored.
public final class LifecycleMapper: @unchecked Sendable {
  /// iOS gives a background task about 30 s; the flush ends before that.
  public static let defaultBackgroundFlushTimeoutMs: Int64 = 25_000

  private weak var sdk: LifecycleHints?
  private let backgroundTasks: BackgroundTaskRunner?
  private let backgroundFlushTimeoutMs: Int64
  private let queue: DispatchQueue
  private let lock = NSLock()
  private var lastEvent: AppLifecycleEvent?  // guarded by lock
  private var online: Bool?  // guarded by lock

  /// `queue` runs the background flush's wait.
  public init(sdk: LifecycleHints, backgroundTasks: BackgroundTaskRunner? = nil,
              backgroundFlushTimeoutMs: Int64 = LifecycleMapper.defaultBackgroundFlushTimeoutMs,
              queue: DispatchQueue = .global(qos: .utility)) {
    self.sdk = sdk
    self.queue = queue
    self.backgroundTasks = backgroundTasks
    self.backgroundFlushTimeoutMs = backgroundFlushTimeoutMs
  }

  public func handle(_ event: AppLifecycleEvent) {
    lock.lock()
    let changed = lastEvent != event
    lastEvent = event
    lock.unlock()
    guard changed, let sdk = sdk else { return }
    switch event {
    case .foreground:
      try? sdk.onForeground()  // only CLOSED can fail; nothing to do then
    case .background:
      try? sdk.onBackground()
      if let tasks = backgroundTasks { flushInBackgroundTask(sdk, tasks) }
    }
  }

  /// The network path changed (NWPathMonitor: `path.status == .satisfied`).
  public func pathChanged(satisfied: Bool) {
    lock.lock()
    let changed = online != satisfied
    online = satisfied
    lock.unlock()
    if changed { try? sdk?.setOnline(satisfied) }
  }

  private func flushInBackgroundTask(_ sdk: LifecycleHints, _ tasks: BackgroundTaskRunner) {
    let ended = EndOnce(tasks)
    let token = tasks.begin(name: "experiture.flush") { ended.end() }
    ended.started(token)
    let timeoutMs = backgroundFlushTimeoutMs
    queue.async {
      _ = try? sdk.flush(timeoutMs: timeoutMs)
      ended.end()
    }
  }
}

/// Ends one background task exactly once, whether `end()` comes before or after `begin`
/// returned its token (the expiration handler may run on another thread at any time).
private final class EndOnce: @unchecked Sendable {
  private let tasks: BackgroundTaskRunner
  private let lock = NSLock()
  private var token: Int?  // guarded by lock
  private var endRequested = false  // guarded by lock
  private var done = false  // guarded by lock

  init(_ tasks: BackgroundTaskRunner) { self.tasks = tasks }

  func started(_ token: Int) {
    lock.lock()
    self.token = token
    let endNow = endRequested && !done
    if endNow { done = true }
    lock.unlock()
    if endNow { tasks.end(token) }
  }

  func end() {
    lock.lock()
    endRequested = true
    let token = done ? nil : self.token
    if token != nil { done = true }
    lock.unlock()
    if let token = token { tasks.end(token) }
  }
}
