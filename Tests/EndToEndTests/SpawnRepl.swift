import Foundation
import Glibc

/// Starts the built `tts-repl` with posix_spawn, its signals unblocked and at their defaults
/// (a child of a Dispatch thread would otherwise inherit a blocked mask and never see SIGINT
/// or SIGTERM). `newSession` makes it a session leader, so a terminal opened by `files` becomes
/// its controlling terminal; `files` sets up its descriptors 0–2.
func spawnRepl(_ arguments: [String], environment: [String: String], newSession: Bool = false,
               files: (inout posix_spawn_file_actions_t) -> Void) throws -> pid_t {
    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    var empty = sigset_t()
    sigemptyset(&empty)
    var defaults = sigset_t()
    sigemptyset(&defaults)
    for signal in [SIGINT, SIGTERM, SIGQUIT, SIGPIPE] { sigaddset(&defaults, signal) }
    posix_spawnattr_setsigmask(&attributes, &empty)
    posix_spawnattr_setsigdefault(&attributes, &defaults)
    let flags = (newSession ? posixSpawnSetsid : 0) | Int32(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF)
    posix_spawnattr_setflags(&attributes, Int16(flags))

    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    files(&actions)

    let argv = ([ReplProcess.binary.path] + arguments).map { strdup($0) } + [nil]
    let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
    defer {
        argv.forEach { free($0) }
        envp.forEach { free($0) }
    }
    var child: pid_t = 0
    let status = posix_spawn(&child, ReplProcess.binary.path, &actions, &attributes, argv, envp)
    guard status == 0 else { throw POSIXError(.init(rawValue: status)!) }
    return child
}

/// glibc's POSIX_SPAWN_SETSID (spawn.h), hidden from Swift behind _GNU_SOURCE.
let posixSpawnSetsid: Int32 = 0x80
