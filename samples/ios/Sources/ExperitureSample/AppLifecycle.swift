import Experiture
import Foundation

/// The app lifecycle mapped to the SDK's hints. On iOS the binding observes UIApplication's
/// notifications (and NWPathMonitor for connectivity); elsewhere this sample posts notifications
/// with the same names, so the same observer runs.
enum AppLifecycle {
  #if canImport(UIKit)
  static func observe(_ sdk: Experiture) -> LifecycleObserver {
    sdk.observeApplicationLifecycle()
  }
  #else
  static let didEnterBackground = Notification.Name("UIApplicationDidEnterBackgroundNotification")
  static let willEnterForeground = Notification.Name("UIApplicationWillEnterForegroundNotification")

  static func observe(_ sdk: Experiture) -> LifecycleObserver {
    LifecycleObserver(sdk: sdk, background: [didEnterBackground],
                      foreground: [willEnterForeground])
  }
  #endif
}

#if canImport(UIKit)
import UIKit

/// In an Xcode app target, mark this `@main` (the Linux runner is main.swift).
final class SampleAppDelegate: UIResponder, UIApplicationDelegate {
  private(set) var sdk: Experiture?
  private var lifecycle: LifecycleObserver?
  private var connectivity: ConnectivityObserver?

  func application(
    _ application: UIApplication,
    didFinishLaunchingWithOptions launchOptions: [UIApplication.LaunchOptionsKey: Any]?
  ) -> Bool {
    let support = FileManager.default.urls(for: .applicationSupportDirectory, in: .userDomainMask)[0]
    try? FileManager.default.createDirectory(at: support, withIntermediateDirectories: true)
    var config = ExperitureConfig(storagePath: support.appendingPathComponent("experiture.db").path)
    config.tokenProvider = { _ in nil }  // ask your backend for a CDP token here
    do {
      let sdk = try Experiture(config: config)
      self.sdk = sdk
      let lifecycle = sdk.observeApplicationLifecycle()  // + beginBackgroundTask around a flush
      self.lifecycle = lifecycle
      connectivity = ConnectivityObserver(mapper: lifecycle.mapper)  // NWPathMonitor
      application.registerForRemoteNotifications()
    } catch {
      print("Experiture not started: \(error)")
    }
    return true
  }

  func application(_ application: UIApplication,
                   didRegisterForRemoteNotificationsWithDeviceToken deviceToken: Data) {
    guard let sdk = sdk else { return }
    try? SampleScreens(sdk: sdk).didRegisterForRemoteNotifications(deviceToken: deviceToken)
  }
}
#endif
