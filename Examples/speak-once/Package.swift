// swift-tools-version:6.0
// A program that uses tts-repl as a library: TTSKit, by path. `make test` builds and runs it.
import PackageDescription

let package = Package(
    name: "speak-once",
    dependencies: [.package(name: "tts-repl", path: "../..")],
    targets: [
        .executableTarget(name: "speak-once", dependencies: [.product(name: "TTSKit", package: "tts-repl")]),
    ],
    swiftLanguageModes: [.v6]
)
