// swift-tools-version:5.9
// The Experiture SDK for Swift: the core (C++17) compiled by SwiftPM itself, plus the Swift API
// over its C ABI (experiture.h). `swift build && swift test` need nothing installed by hand
// beyond SQLite and mbedTLS (see README.md).
//
// Sources/CExperiture holds symlinks into the repository (core/src, platform/null,
// platform/include, core/include/experiture): SwiftPM forbids target paths outside the package
// root, and the symlinks keep one copy of every source.
import PackageDescription

// Keep equal to project(experiture VERSION ...) in the root CMakeLists.txt (a ctest checks it).
let sdkVersion = "0.1.0"

let package = Package(
  name: "Experiture",
  // CryptoKit (public-key pinning on Apple platforms).
  platforms: [.iOS(.v13), .macOS(.v10_15), .tvOS(.v13), .watchOS(.v6)],
  products: [
    .library(name: "Experiture", targets: ["Experiture"]),
  ],
  targets: [
    // The engine, the C ABI and the null/ platform backends (no curl: Swift plugs in URLSession
    // through the C HTTP client table; no libphonenumber: phones must be E.164 unless the app
    // sets a normaliser).
    .target(
      name: "CExperiture",
      path: "Sources/CExperiture",
      exclude: ["platform_null/CMakeLists.txt"],
      sources: ["core", "platform_null"],
      publicHeadersPath: "include",
      cxxSettings: [
        .headerSearchPath("core"),
        .headerSearchPath("platform_include"),
        .define("EXPERITURE_STATIC"),
        .define("EXPERITURE_SDK_VERSION", to: "\"\(sdkVersion)\""),
      ],
      linkerSettings: [
        .linkedLibrary("sqlite3"),
        .linkedLibrary("mbedcrypto"),
      ]),
    .target(name: "Experiture", dependencies: ["CExperiture"]),
    .testTarget(name: "ExperitureTests", dependencies: ["Experiture"]),
  ],
  cxxLanguageStandard: .cxx17
)
