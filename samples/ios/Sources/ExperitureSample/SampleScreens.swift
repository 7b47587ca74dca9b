import Experiture
import Foundation

/// The screens of the sample app, written as a UIKit/SwiftUI app calls the SDK (on iOS these are
/// the action handlers; the SDK calls never block the main thread). Each returns what the UI
/// would show.
final class SampleScreens {
  private let sdk: Experiture

  init(sdk: Experiture) {
    self.sdk = sdk
  }

  /// application(_:didRegisterForRemoteNotificationsWithDeviceToken:): works offline; delivered
  /// later. APNs tokens are sent as hex.
  func didRegisterForRemoteNotifications(deviceToken: Data) throws {
    try sdk.setPushToken(deviceToken.map { String(format: "%02x", $0) }.joined())
  }

  /// The sign-up form: bad input comes back as a message naming the field, never a crash.
  func checkIn(email: String, phone: String, firstName: String) -> String {
    do {
      try sdk.upsert("profiles", record: ["email": email, "phone": phone, "first_name": firstName],
                     matchKey: "email")
      return "checked in"
    } catch let error as ExperitureError {
      return "please correct: \(error.message) (\(error.name))"
    } catch {
      return "please correct: \(error)"
    }
  }

  /// A screen view: an event row.
  func screenView(_ screen: String) throws {
    try sdk.append("events", record: ["event": "screen_view", "properties": ["screen": screen]])
  }

  /// The login screen: links this device to the customer.
  func login(email: String, customerId: String) throws {
    try sdk.login(email: email, customerId: customerId)
  }
}
