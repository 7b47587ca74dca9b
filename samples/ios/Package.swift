// swift-tools-version:5.9
// The iOS sample's app flow on the Swift binding, runnable on Linux/macOS against the emulator:
//   swift run experiture-ios-sample --start-emulator
// (see README.md). The binding compiles the core itself: no flags, nothing installed by hand.
import PackageDescription

let package = Package(
  name: "ExperitureSample",
  // At least the binding's own platforms (Apple: SwiftPM refuses a lower deployment target).
  platforms: [.iOS(.v13), .macOS(.v10_15), .tvOS(.v13), .watchOS(.v6)],
  dependencies: [
    .package(name: "Experiture", path: "../../bindings/swift"),
  ],
  targets: [
    .executableTarget(
      name: "experiture-ios-sample",
      dependencies: [.product(name: "Experiture", package: "Experiture")],
      path: "Sources/ExperitureSample"),
  ]
)
