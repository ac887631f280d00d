#if canImport(Glibc)
import Glibc
#endif

// The settings to put back if the process dies while a line is being read. Globals because
// a signal handler and an atexit function cannot capture context. Written only by the thread
// inside `readLine`, settings before the descriptor, so a handler never sees half of them.
nonisolated(unsafe) private var restoreFD: Int32 = -1
nonisolated(unsafe) private var restoreSettings = termios()
nonisolated(unsafe) private var previousInterrupt = sigaction()
nonisolated(unsafe) private var previousTerminate = sigaction()
// Self-pipe: the SIGWINCH handler writes a byte, the read loop polls the other end.
nonisolated(unsafe) private var resizeWriteFD: Int32 = -1
nonisolated(unsafe) private var resizeReadFD: Int32 = -1

private func restoreTerminalNow() {
    if restoreFD >= 0 { tcsetattr(restoreFD, TCSANOW, &restoreSettings) }
}

/// SIGINT/SIGTERM: restore the terminal only when the signal is about to end the process
/// (default action), then let it; an owner's handler (say, one that cancels a command) is
/// called instead and the line keeps being edited.
private func chainSignal(_ signal: Int32, _ info: UnsafeMutablePointer<siginfo_t>?, _ context: UnsafeMutableRawPointer?) {
    var previous = signal == SIGINT ? previousInterrupt : previousTerminate
    if previous.sa_flags & SA_SIGINFO != 0 {
        previous.__sigaction_handler.sa_sigaction?(signal, info, context)
        return
    }
    switch unsafeBitCast(previous.__sigaction_handler.sa_handler, to: Int.self) {
    case 0:  // SIG_DFL
        restoreTerminalNow()
        sigaction(signal, &previous, nil)
        raise(signal)  // blocked until this handler returns, then ends the process
    case 1:  // SIG_IGN
        return
    default:
        previous.__sigaction_handler.sa_handler?(signal)
    }
}

private func noteResize(_ signal: Int32) {
    var byte: UInt8 = 1
    _ = write(resizeWriteFD, &byte, 1)
}

/// Raw mode, window size and the restore hooks: the only code that talks termios.
enum Terminal {
    static func isTerminal(_ fd: Int32) -> Bool { isatty(fd) == 1 }

    /// Terminal width, 80 when the descriptor cannot tell (a pty nobody sized).
    static func columns(_ fd: Int32) -> Int {
        var size = winsize()
        guard ioctl(fd, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 else { return 80 }
        return Int(size.ws_col)
    }

    /// The read end of the SIGWINCH self-pipe, for `poll`.
    static var resizeSignals: Int32 { installHooks; return resizeReadFD }

    static func drainResizeSignals() {
        var scratch = [UInt8](repeating: 0, count: 64)
        while read(resizeReadFD, &scratch, scratch.count) > 0 {}
    }

    /// Puts `fd` in raw mode (linenoise's flags) and returns the settings to restore. TCSANOW,
    /// not TCSAFLUSH: flushing would drop what the user typed ahead between two prompts.
    static func enterRawMode(_ fd: Int32) -> termios? {
        installHooks
        var original = termios()
        guard tcgetattr(fd, &original) == 0 else { return nil }
        var raw = original
        raw.c_iflag &= ~tcflag_t(BRKINT | ICRNL | INPCK | ISTRIP | IXON)
        raw.c_oflag &= ~tcflag_t(OPOST)
        raw.c_cflag |= tcflag_t(CS8)
        raw.c_lflag &= ~tcflag_t(ECHO | ICANON | IEXTEN | ISIG)
        withUnsafeMutableBytes(of: &raw.c_cc) { cc in
            cc[Int(VMIN)] = 1
            cc[Int(VTIME)] = 0
        }
        restoreSettings = original
        restoreFD = fd
        guard tcsetattr(fd, TCSANOW, &raw) == 0 else {
            restoreFD = -1
            return nil
        }
        return original
    }

    static func leaveRawMode(_ fd: Int32, _ original: termios) {
        var original = original
        restoreFD = -1
        tcsetattr(fd, TCSANOW, &original)
    }

    /// Installed once, on the first raw-mode read: atexit and SIGINT/SIGTERM restore the
    /// terminal; SIGWINCH feeds the self-pipe. Handlers the owner installed before are chained.
    private static let installHooks: Void = {
        var fds: [Int32] = [-1, -1]
        if pipe(&fds) == 0 {
            for fd in fds {
                _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
                _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            }
            resizeReadFD = fds[0]
            resizeWriteFD = fds[1]
        }
        atexit { restoreTerminalNow() }

        var action = sigaction()
        action.__sigaction_handler.sa_sigaction = chainSignal
        action.sa_flags = SA_SIGINFO | SA_RESTART
        sigemptyset(&action.sa_mask)
        sigaction(SIGINT, &action, &previousInterrupt)
        sigaction(SIGTERM, &action, &previousTerminate)

        var resize = sigaction()
        resize.__sigaction_handler.sa_handler = noteResize
        resize.sa_flags = SA_RESTART
        sigemptyset(&resize.sa_mask)
        sigaction(SIGWINCH, &resize, nil)
    }()
}
