// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "mmsh",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "mmsh", targets: ["mmsh"]),
        .executable(name: "mmsh-bench", targets: ["mmsh-bench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket", from: "2.8.1"),
        // Recordings are compressed with zlib; hummingbird-websocket already builds it (permessage-deflate).
        .package(url: "https://github.com/adam-fowler/compress-nio", from: "1.5.0"),
        .package(url: "https://github.com/hummingbird-project/swift-websocket", from: "1.6.2"),
        // Metrics: recorded through swift-metrics where they happen, exposed by swift-prometheus.
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        // Graceful stops of the engine's servers (already built for Hummingbird).
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
    ],
    targets: [
        // System libraries. libedit is touched only by LineEditing; libcurl carries the MEXC REST connector.
        .systemLibrary(name: "CEditLine", pkgConfig: "libedit",
                       providers: [.apt(["libedit-dev"]), .brew(["libedit"])]),
        .systemLibrary(name: "CCurl", pkgConfig: "libcurl",
                       providers: [.apt(["libcurl4-openssl-dev"]), .brew(["curl"])]),

        // Pure core: exact decimals, durations, the settings model and its validation. No I/O.
        .target(name: "MMCore"),
        // The quoting strategy: a pure function of the market, the instance's orders and its settings.
        .target(name: "MMStrategy", dependencies: ["MMCore"]),
        // The simulated MEXC market of the sim venue.
        .target(name: "MMSim", dependencies: ["MMCore", "MMStrategy"]),
        // Running instances: the Exchange protocol, its venues, one actor per running instance.
        // Release builds leave out the runtime checks of exclusive access to the actors' stored
        // properties: a backtest's decision reads dozens of them, and the checks were a twentieth
        // of its time. Debug builds, which run the tests, keep them.
        .target(name: "MMEngine", dependencies: ["MMCore", "MMStrategy", "MMSim", "MMStorage", "MMMexc", "MMRecording",
                                                  .product(name: "Metrics", package: "swift-metrics")],
                swiftSettings: [.unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))]),
        // API keys encrypted at rest: scrypt and AES-GCM from swift-crypto.
        .target(name: "MMVault", dependencies: [
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "_CryptoExtras", package: "swift-crypto"),
        ]),
        // MEXC's WebSocket frames: Swift generated from Protos/ by scripts/gen-proto, committed.
        .target(name: "MMProto", dependencies: [.product(name: "SwiftProtobuf", package: "swift-protobuf")]),
        // MEXC's spot API: signing, its JSON shapes, market rules, stream frames, the local book.
        .target(name: "MMMexc", dependencies: [
            "MMCore", "MMStrategy", "MMProto", "CCurl", .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            .product(name: "WSClient", package: "swift-websocket"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Metrics", package: "swift-metrics"),
        ]),
        // `mmsh sim serve`: MEXC's spot REST API on loopback, over the sim venue's markets.
        .target(name: "MMSimServer", dependencies: [
            "MMCore", "MMStrategy", "MMSim", "MMMexc", "MMRecording",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HummingbirdCore", package: "hummingbird"),
            .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
            "MMProto", .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "HTTPTypes", package: "swift-http-types"),
        ]),
        // SQLite storage behind a small repository type.
        .target(name: "MMStorage", dependencies: [
            "MMCore",
            .product(name: "GRDB", package: "GRDB.swift"),
            // SQLite's C API, for the few reads that take columns where SQLite holds them (the ledger's).
            .product(name: "GRDBSQLite", package: "GRDB.swift"),
        ]),
        // Recordings of MEXC's market: the file format (no I/O but the file itself).
        .target(name: "MMRecording", dependencies: [
            .product(name: "CompressNIO", package: "compress-nio"), .product(name: "NIOCore", package: "swift-nio"),
        ]),
        // The engine's typed API, which every command calls, and its implementation in the engine's process.
        .target(name: "MMAPI", dependencies: ["MMCore", "MMStorage", "MMStrategy", "MMEngine", "MMVault", "MMMexc", "MMControl"]),
        // The shell without a terminal: lexer, command registry, parser, executor, completion, rendering.
        .target(name: "MMShell", dependencies: ["MMAPI", "MMCore", "MMStorage", "MMStrategy", "MMSim", "MMEngine", "MMVault", "MMMexc", "MMRecording"]),
        // The engine's socket from the client's side: plain POSIX HTTP/1.1, so a client starts in milliseconds.
        .target(name: "MMControl"),
        // The engine as a service: the API over HTTP/1.1 on the data directory's Unix socket (Hummingbird), metrics.
        .target(name: "MMDaemon", dependencies: [
            "MMControl", "MMShell", "MMAPI", "MMEngine", "MMStorage", "MMVault", "MMCore", "MMStrategy",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "HTTPTypes", package: "swift-http-types"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "Prometheus", package: "swift-prometheus"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ]),
        // The only code that touches libedit, the tty, signals and the history file.
        .target(name: "LineEditing", dependencies: ["CEditLine"]),
        // Thin executable over the libraries.
        .executableTarget(name: "mmsh", dependencies: [
            "MMShell", "MMAPI", "LineEditing", "CCurl", "MMVault", "MMSimServer", "MMMexc", "MMCore", "MMControl", "MMDaemon", "MMStorage", "MMRecording",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        // Benchmarks (scripts/bench): a harness of our own with allocation counting.
        .target(name: "CMallocCounter"),
        .executableTarget(name: "mmsh-bench", dependencies: [
            "MMStrategy", "MMSim", "MMEngine", "MMStorage", "MMCore", "MMMexc", "MMProto", "MMSimServer", "CMallocCounter", "MMControl", "MMRecording", "MMAPI",
        ]),

        .testTarget(name: "MMCoreTests", dependencies: ["MMCore"]),
        .testTarget(name: "MMStrategyTests", dependencies: ["MMStrategy", "MMCore"]),
        .testTarget(name: "MMSimTests", dependencies: ["MMSim", "MMStrategy", "MMCore"]),
        .testTarget(name: "MMVaultTests", dependencies: ["MMVault"]),
        .testTarget(name: "MMMexcTests", dependencies: ["MMMexc", "MMProto", "MMCore", "MMStrategy"], resources: [.copy("Fixtures")]),
        .testTarget(name: "MMEngineTests", dependencies: [
            "MMEngine", "MMSim", "MMStorage", "MMStrategy", "MMCore", .product(name: "GRDB", package: "GRDB.swift"),
        ]),
        .testTarget(name: "MMShellTests", dependencies: [
            "MMShell", "MMAPI", "MMDaemon", "MMControl", "MMStorage", "MMCore", "MMEngine", "MMStrategy", "MMRecording", "MMSimServer", .product(name: "GRDB", package: "GRDB.swift"),
        ]),
        // The engine's API over its socket: routes against the OpenAPI document, sessions, bad requests, metrics.
        .testTarget(name: "MMDaemonTests", dependencies: ["MMDaemon", "MMControl", "MMShell", "MMAPI", "MMStorage", "MMCore", "MMStrategy", "MMEngine"]),
        // The REST client and the live venue against the simulator server on loopback.
        .testTarget(name: "MMLiveTests", dependencies: ["MMEngine", "MMMexc", "MMSimServer", "MMStorage", "MMStrategy", "MMSim", "MMCore", "MMRecording", "MMAPI"]),
        // Drives the built `mmsh` binary: exit codes, scripts, completion scripts, a real terminal.
        .testTarget(name: "MMSystemTests", dependencies: ["mmsh"]),
    ]
)

// Coverage-guided fuzzing (scripts/fuzz): with MMSH_FUZZ set to libFuzzer's archive without a
// main (the toolchain's libclang_rt.fuzzer_no_main; SwiftPM gives executables their own entry
// point), the modules that read outside input are built with libFuzzer's coverage
// instrumentation, and a target per input (Fuzz/) links against them. Normal builds never see it.
if let libFuzzer = Context.environment["MMSH_FUZZ"] {
    let instrumented: Set<String> = ["MMCore", "MMShell", "MMMexc", "MMRecording"]
    for target in package.targets where instrumented.contains(target.name) {
        target.swiftSettings = (target.swiftSettings ?? []) + [.unsafeFlags(["-sanitize=fuzzer"])]
    }
    let fuzzTargets: [(name: String, dependencies: [Target.Dependency])] = [
        ("ShellLine", ["MMShell"]), ("Settings", ["MMCore"]), ("StreamFrame", ["MMMexc", "MMCore", "MMStrategy"]),
        ("RESTAnswer", ["MMMexc", "MMCore"]), ("Recording", ["MMRecording"]),
    ]
    package.targets.append(.target(name: "FuzzDriver", path: "Fuzz/Driver"))
    for (name, dependencies) in fuzzTargets {
        package.targets.append(.executableTarget(
            name: "fuzz-\(name)", dependencies: dependencies + ["FuzzDriver"], path: "Fuzz/\(name)",
            swiftSettings: [.unsafeFlags(["-sanitize=fuzzer"])],
            linkerSettings: [.unsafeFlags([libFuzzer, "-lstdc++", "-lm"])]))
    }
}
