// The espeak-ng zygote: a small single-threaded helper process that initialises espeak-ng once
// and forks a child per synthesis, so every request starts from the same pristine library state
// (espeak-ng 1.51 keeps state in statics that no exported call resets: bench/NOTES.md).
//
// The zygote is our own executable re-executed with TTS_ESPEAK_ZYGOTE=1 in its environment: a
// constructor in this target sees the variable before main (before the Swift runtime or any
// thread starts), runs the zygote loop and exits, so every binary that links TTSEngines — the
// REPL, the test bundle, tts-bench, a TTSKit user's program — can start one.
//
// Protocol, native-endian int32s. The zygote first writes HELLO(sample rate, or -1 when
// espeak-ng cannot start). Each request is the byte 'S', int32 voice length, voice bytes, int32
// text length, text bytes (UTF-8). The answer is AUDIO frames (value = byte count, then that many
// bytes of 16-bit PCM), then END(espeak status) or VOICE_FAILED(status) from the child, then
// EXITED(the child's wait status) from the zygote. The byte 'C' while a request runs asks the
// child to stop; the zygote skips a 'C' that arrives after the child ended.
#ifndef TTS_ESPEAK_ZYGOTE_H
#define TTS_ESPEAK_ZYGOTE_H
#include <stdint.h>

enum {
    TTS_ZYGOTE_HELLO = 1,
    TTS_ZYGOTE_AUDIO = 2,
    TTS_ZYGOTE_END = 3,
    TTS_ZYGOTE_VOICE_FAILED = 4,
    TTS_ZYGOTE_EXITED = 5,
};

/// Starts a zygote from `executable` (normally "/proc/self/exe") in its own process group
/// (a Ctrl-C at the terminal is for the REPL, not for it), with default signal dispositions,
/// an empty signal mask and only fds 0–2 open. `request_fd` is the write end of its stdin,
/// `response_fd` the read end of its stdout, both close-on-exec. Ignores SIGPIPE process-wide so
/// a dead zygote shows as EPIPE. Returns 0, or an errno value.
int tts_espeak_zygote_spawn(const char *executable, int32_t *pid, int32_t *request_fd, int32_t *response_fd);

/// The wait status helpers are macros; these decode an EXITED frame's value for Swift.
int tts_wait_signal(int status);
int tts_wait_exit_code(int status);

#endif
