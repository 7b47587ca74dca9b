// The iOS sample's app flow on Linux/macOS:
//   experiture-ios-sample --start-emulator            (emulator path in env EXPERITURE_EMULATOR)
//   experiture-ios-sample --endpoint URL --token T [--storage FILE]
//
// An anonymous visitor gets a push token while the network is down, checks in with email and
// phone, logs in with a customer id; the network comes back, the app goes to the background
// (delivery flushes), and the unified profile is read back from the emulator. Exit code 0 when
// the profile holds everything, 1 otherwise, 2 on usage errors.
import Experiture
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
#if canImport(Glibc)
import Glibc
#endif

func usage(_ message: String) -> Never {
  let text = "\(message)\nusage: experiture-ios-sample (--start-emulator | --endpoint URL)"
    + " [--token T] [--storage FILE]\n"
  FileHandle.standardError.write(Data(text.utf8))
  exit(2)
}

var endpoint: String?
var token = "sample-token"
var storage: String?
var startEmulator = false
var arguments = CommandLine.arguments.dropFirst()
func value(_ option: String) -> String {
  guard let value = arguments.popFirst() else { usage("\(option) needs a value") }
  return value
}
while let argument = arguments.popFirst() {
  switch argument {
  case "--start-emulator": startEmulator = true
  case "--endpoint": endpoint = value(argument)
  case "--token": token = value(argument)
  case "--storage": storage = value(argument)
  default: usage("unknown argument \(argument)")
  }
}

var emulator: Process?
var emulatorRoot: String?
if startEmulator {
  guard let path = ProcessInfo.processInfo.environment["EXPERITURE_EMULATOR"] else {
    usage("--start-emulator needs EXPERITURE_EMULATOR=PATH")
  }
  let process = Process()
  let stdout = Pipe()
  process.executableURL = URL(fileURLWithPath: path)
  process.arguments = ["--port", "0"]
  process.standardOutput = stdout
  process.standardError = FileHandle.nullDevice
  try process.run()
  var line = Data()
  while !line.contains(UInt8(ascii: "\n")) {
    let chunk = stdout.fileHandleForReading.availableData
    if chunk.isEmpty { break }
    line.append(chunk)
  }
  let port = String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
  emulator = process
  emulatorRoot = "http://127.0.0.1:\(port)"
  endpoint = "http://127.0.0.1:\(port)/public/v1"
}
guard let endpoint = endpoint else { usage("give --start-emulator or --endpoint URL") }

let dir = FileManager.default.temporaryDirectory
  .appendingPathComponent("experiture-ios-sample-\(UUID().uuidString)")
try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)

func get(_ url: String) -> String {
  final class Box: @unchecked Sendable { var text = "" }  // written before signal()
  let box = Box()
  let done = DispatchSemaphore(value: 0)
  URLSession.shared.dataTask(with: URL(string: url)!) { data, _, _ in
    box.text = String(decoding: data ?? Data(), as: UTF8.self)
    done.signal()
  }.resume()
  done.wait()
  return box.text
}

func run() throws -> Int32 {
  let customerId = "ios-sample-42"
  // application(_:didFinishLaunchingWithOptions:)
  var config = ExperitureConfig(
    storagePath: storage ?? dir.appendingPathComponent("experiture.db").path)
  config.endpoint = endpoint
  config.platformName = "ios"
  config.tokenProvider = { _ in token }  // an app asks its own backend here
  config.deliveryListener = { event in
    print("  [sdk] \(event.kind) count=\(event.count) \(event.reason)")
  }
  let sdk = try Experiture(config: config)
  let lifecycle = AppLifecycle.observe(sdk)
  defer { lifecycle.stop() }
  let screens = SampleScreens(sdk: sdk)

  NotificationCenter.default.post(name: AppLifecycle.willEnterForeground, object: nil)
  try sdk.setOnline(false)  // NWPathMonitor: unsatisfied
  print("anonymous visitor, device_id \(try sdk.deviceId())")
  try screens.didRegisterForRemoteNotifications(deviceToken: Data([0xa1, 0xb2, 0xc3, 0xd4]))
  try screens.screenView("welcome")
  print("check-in with a bad email: "
    + screens.checkIn(email: "ada(at)example", phone: "(650) 253-0000", firstName: "Ada"))
  print("check-in: "
    + screens.checkIn(email: "Ada@Example.com", phone: "+16502530000", firstName: "Ada 🚀"))
  try screens.login(email: "ada@example.com", customerId: customerId)
  print("offline, queued: \(try sdk.statsJSON())")

  try sdk.setOnline(true)  // NWPathMonitor: satisfied
  NotificationCenter.default.post(name: AppLifecycle.didEnterBackground, object: nil)
  let flushed = try sdk.flush(timeoutMs: 20_000)
  print("flush: \(flushed.name)")
  print("stats: \(try sdk.statsJSON())")
  try sdk.close()
  guard flushed == .ok else { return 1 }
  guard let root = emulatorRoot else { return 0 }

  let text = get("\(root)/_emulator/profile?key=customer_id&value=\(customerId)")
  print("unified profile: \(text)")
  let profile = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]
  let fields = profile?["fields"] as? [String: Any] ?? [:]
  let ok = fields["email"] as? String == "ada@example.com"
    && fields["phone"] as? String == "+16502530000"
    && fields["customer_id"] as? String == customerId
    && fields["push_token"] as? String == "a1b2c3d4"
    && fields["first_name"] as? String == "Ada 🚀"
    && fields["platform"] as? String == "ios"
    && get("\(root)/_emulator/profiles").contains("\"count\":1,")
  print(ok ? "OK: one profile with email, phone, customer_id, device and push token"
           : "FAILED: the profile is incomplete")
  return ok ? 0 : 1
}

var status: Int32 = 1
do {
  status = try run()
} catch {
  print("error: \(error)")
}
if let emulator = emulator {
  kill(emulator.processIdentifier, SIGKILL)
  emulator.waitUntilExit()
}
try? FileManager.default.removeItem(at: dir)
exit(status)
