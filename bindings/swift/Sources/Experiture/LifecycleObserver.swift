import Foundation

/// Feeds app lifecycle notifications to a `LifecycleMapper`: a `background` name -> `.background`
/// (deliver now, the app may be suspended soon), a `foreground` name -> `.foreground`. On iOS use
/// `Experiture.observeApplicationLifecycle()`; elsewhere name the notifications your app posts.
/// Observes until released or `stop()`ed. Holds the SDK weakly.
public final class LifecycleObserver: @unchecked Sendable {
  private let center: NotificationCenter
  private let lock = NSLock()
  private var tokens: [NSObjectProtocol] = []  // guarded by lock
  /// The mapping the notifications drive (also takes connectivity reports).
  public let mapper: LifecycleMapper

  public init(mapper: LifecycleMapper, center: NotificationCenter = .default,
              background: [Notification.Name], foreground: [Notification.Name]) {
    self.center = center
    self.mapper = mapper
    var tokens: [NSObjectProtocol] = []
    for name in background {
      tokens.append(center.addObserver(forName: name, object: nil, queue: nil) { [mapper] _ in
        mapper.handle(.background)
      })
    }
    for name in foreground {
      tokens.append(center.addObserver(forName: name, object: nil, queue: nil) { [mapper] _ in
        mapper.handle(.foreground)
      })
    }
    self.tokens = tokens
  }

  /// Without background tasks: background -> `onBackground()` only.
  public convenience init(sdk: Experiture, center: NotificationCenter = .default,
                          background: [Notification.Name], foreground: [Notification.Name]) {
    self.init(mapper: LifecycleMapper(sdk: sdk), center: center, background: background,
              foreground: foreground)
  }

  deinit {
    stop()
  }

  public func stop() {
    lock.lock()
    let removed = tokens
    tokens = []
    lock.unlock()
    for token in removed { center.removeObserver(token) }
  }
}

#if canImport(UIKit) && !os(watchOS)
import UIKit

/// `beginBackgroundTask` / `endBackgroundTask` of `UIApplication.shared` (not in app extensions).
public struct UIApplicationBackgroundTasks: BackgroundTaskRunner {
  public init() {}

  public func begin(name: String, expired: @escaping @Sendable () -> Void) -> Int {
    UIApplication.shared.beginBackgroundTask(withName: name, expirationHandler: expired).rawValue
  }

  public func end(_ token: Int) {
    UIApplication.shared.endBackgroundTask(UIBackgroundTaskIdentifier(rawValue: token))
  }
}

extension Experiture {
  /// Maps UIApplication didEnterBackground / willEnterForeground to the lifecycle hints and
  /// flushes inside a background task when the app leaves the foreground. Keep the returned
  /// observer for as long as the SDK is open; pass `observer.mapper` to `ConnectivityObserver`.
  public func observeApplicationLifecycle(center: NotificationCenter = .default)
    -> LifecycleObserver
  {
    LifecycleObserver(
      mapper: LifecycleMapper(sdk: self, backgroundTasks: UIApplicationBackgroundTasks()),
      center: center,
      background: [UIApplication.didEnterBackgroundNotification],
      foreground: [UIApplication.willEnterForegroundNotification])
  }
}
#endif

#if canImport(Network)
import Network

/// Feeds NWPathMonitor's path status to a `LifecycleMapper` (-> `setOnline(_:)` on change).
/// Monitors until released or `stop()`ed.
public final class ConnectivityObserver: @unchecked Sendable {
  private let monitor = NWPathMonitor()

  public init(mapper: LifecycleMapper,
              queue: DispatchQueue = DispatchQueue(label: "experiture.path")) {
    monitor.pathUpdateHandler = { [mapper] path in
      mapper.pathChanged(satisfied: path.status == .satisfied)
    }
    monitor.start(queue: queue)
  }

  public convenience init(sdk: Experiture,
                          queue: DispatchQueue = DispatchQueue(label: "experiture.path")) {
    self.init(mapper: LifecycleMapper(sdk: sdk), queue: queue)
  }

  deinit {
    monitor.cancel()
  }

  public func stop() {
    monitor.cancel()
  }
}
#endif
