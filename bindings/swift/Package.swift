// swift-tools-version:5.9
// The Experiture SDK for Swift: a thin binding over the C ABI (experiture.h) of libexperiture.
//
// The C header and library come from the CMake build or install tree; pass their directories:
//   swift build -Xcc -I<prefix>/include -Xlinker -L<prefix>/lib -Xlinker -rpath -Xlinker <prefix>/lib
// (see README.md).
import PackageDescription

let package = Package(
  name: "Experiture",
  products: [
    .library(name: "Experiture", targets: ["Experiture"]),
  ],
  targets: [
    // experiture.h as a Clang module; links libexperiture.
    .systemLibrary(name: "CExperiture", path: "Sources/CExperiture"),
    .target(name: "Experiture", dependencies: ["CExperiture"]),
    .testTarget(name: "ExperitureTests", dependencies: ["Experiture"]),
  ]
)
