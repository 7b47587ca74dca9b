import Foundation

/// Maps app lifecycle notifications to the SDK's hints: background -> `onBackground()` (deliver
/// now, the app may be suspended soon), foreground -> `onForeground()`. On iOS use
/// `Experiture.observeApplicationLifecycle()`; elsewhere name the notifications your app posts.
/// Observes until released or `stop()`ed. Holds the SDK weakly.
public final class LifecycleObserver: @unchecked Sendable {
  private let center: NotificationCenter
  private let lock = NSLock()
  private var tokens: [NSObjectProtocol] = []  // guarded by lock

  public init(sdk: Experiture, center: NotificationCenter = .default,
              background: [Notification.Name], foreground: [Notification.Name]) {
    self.center = center
    var tokens: [NSObjectProtocol] = []
    for name in background {
      tokens.append(center.addObserver(forName: name, object: nil, queue: nil) { [weak sdk] _ in
        try? sdk?.onBackground()  // only CLOSED can fail; nothing to do then
      })
    }
    for name in foreground {
      tokens.append(center.addObserver(forName: name, object: nil, queue: nil) { [weak sdk] _ in
        try? sdk?.onForeground()
      })
    }
    self.tokens = tokens
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

#if canImport(UIKit)
import UIKit

extension Experiture {
  /// Maps UIApplication didEnterBackground / willEnterForeground to the lifecycle hints. Keep
  /// the returned observer for as long as the SDK is open.
  public func observeApplicationLifecycle(center: NotificationCenter = .default)
    -> LifecycleObserver
  {
    LifecycleObserver(sdk: self, center: center,
                      background: [UIApplication.didEnterBackgroundNotification],
                      foreground: [UIApplication.willEnterForegroundNotification])
  }
}
#endif

#if canImport(Network)
import Network

/// Maps NWPathMonitor's path status to `setOnline(_:)`. Monitors until released or `stop()`ed.
public final class ConnectivityObserver: @unchecked Sendable {
  private let monitor = NWPathMonitor()

  public init(sdk: Experiture, queue: DispatchQueue = DispatchQueue(label: "experiture.path")) {
    monitor.pathUpdateHandler = { [weak sdk] path in
      try? sdk?.setOnline(path.status == .satisfied)
    }
    monitor.start(queue: queue)
  }

  deinit {
    monitor.cancel()
  }

  public func stop() {
    monitor.cancel()
  }
}
#endif
