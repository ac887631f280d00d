// The espeak-ng zygote (see include/espeak_zygote.h for why and for the protocol).
#define _GNU_SOURCE
#include "espeak_zygote.h"

#include <errno.h>
#include <fcntl.h>
#include <espeak-ng/speak_lib.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define ZYGOTE_VARIABLE "TTS_ESPEAK_ZYGOTE"
#define ZYGOTE_MARKER ZYGOTE_VARIABLE "=1"
#define REQUEST_START 'S'
#define REQUEST_CANCEL 'C'
/// Far above any voice identifier (`gmw/en-US`) and any text the REPL or server accepts.
#define MAX_VOICE_BYTES 256
#define MAX_TEXT_BYTES (64 * 1024 * 1024)

// MARK: Pipe I/O

static int write_all(int fd, const void *bytes, size_t count) {
    const char *cursor = bytes;
    while (count > 0) {
        ssize_t written = write(fd, cursor, count);
        if (written < 0 && errno == EINTR) continue;
        if (written <= 0) return -1;
        cursor += written;
        count -= (size_t)written;
    }
    return 0;
}

/// 0 when all `count` bytes arrived, -1 on end of file or an error.
static int read_all(int fd, void *bytes, size_t count) {
    char *cursor = bytes;
    while (count > 0) {
        ssize_t got = read(fd, cursor, count);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) return -1;
        cursor += got;
        count -= (size_t)got;
    }
    return 0;
}

static int write_frame(int32_t kind, int32_t value, const void *payload, size_t length) {
    int32_t header[2] = { kind, value };
    struct iovec parts[2] = {
        { .iov_base = header, .iov_len = sizeof header },
        { .iov_base = (void *)payload, .iov_len = length },
    };
    size_t total = sizeof header + length;
    ssize_t written = writev(STDOUT_FILENO, parts, payload ? 2 : 1);
    while (written < 0 && errno == EINTR) written = writev(STDOUT_FILENO, parts, payload ? 2 : 1);
    if (written < 0) return -1;
    if ((size_t)written == total) return 0;
    // A short write (a pipe full of a long clip): finish byte by byte through the two parts.
    size_t done = (size_t)written;
    if (done < sizeof header) {
        if (write_all(STDOUT_FILENO, (char *)header + done, sizeof header - done) != 0) return -1;
        done = sizeof header;
    }
    return write_all(STDOUT_FILENO, (const char *)payload + (done - sizeof header), total - done);
}

// MARK: The child: one synthesis

/// espeak's synth callback in a child: sends each buffer on, and stops espeak (returns 1) when
/// the client wrote 'C' on stdin or went away.
static int child_callback(short *wav, int count, espeak_EVENT *events) {
    (void)events;
    if (wav && count > 0 && write_frame(TTS_ZYGOTE_AUDIO, count * (int32_t)sizeof(short), wav,
                                        (size_t)count * sizeof(short)) != 0) {
        return 1;
    }
    struct pollfd input = { .fd = STDIN_FILENO, .events = POLLIN };
    if (poll(&input, 1, 0) > 0) {
        // Only a cancel can arrive while a request runs; end of file means the client is gone.
        return 1;
    }
    return 0;
}

/// The voice the zygote itself has loaded (its identifier), or "" for none or a failed load.
static char loaded_voice[MAX_VOICE_BYTES + 1];

/// Loads `voice` in the zygote when it is not the loaded one. Loading a voice in a fresh child
/// costs ~17 ms (its dictionary and tables); a child of a zygote that has it loaded already
/// speaks at the in-process speed. Loading speaks nothing, so the synthesis state stays pristine.
static espeak_ERROR load_voice(const char *voice) {
    if (loaded_voice[0] && strcmp(loaded_voice, voice) == 0) return EE_OK;
    espeak_ERROR status = espeak_SetVoiceByName(voice);
    if (status == EE_OK) {
        strcpy(loaded_voice, voice);
    } else {
        loaded_voice[0] = 0;
    }
    return status;
}

static void child_speak(pid_t zygote, espeak_ERROR voice_status, const char *text, size_t text_length) {
    // The zygote is single-threaded, so the death signal is tied to it for good; a child
    // must not outlive a zygote that was killed.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != zygote) _exit(0);
    if (voice_status != EE_OK) {
        write_frame(TTS_ZYGOTE_VOICE_FAILED, voice_status, NULL, 0);
        _exit(0);
    }
    // No espeakSSML: '<' and '&' in user text are spoken, never parsed as markup.
    espeak_ERROR status = espeak_Synth(text, text_length + 1, 0, POS_CHARACTER, 0,
                          espeakCHARS_UTF8 | espeakENDPAUSE, NULL, NULL);
    write_frame(TTS_ZYGOTE_END, status, NULL, 0);
    _exit(0);
}

// MARK: The zygote loop

/// Reads an int32 length and that many bytes (plus a NUL) into a new buffer, or NULL.
static char *read_string(int32_t limit, int32_t *length) {
    if (read_all(STDIN_FILENO, length, sizeof *length) != 0 || *length < 0 || *length > limit) return NULL;
    char *bytes = malloc((size_t)*length + 1);
    if (!bytes) return NULL;
    if (read_all(STDIN_FILENO, bytes, (size_t)*length) != 0) {
        free(bytes);
        return NULL;
    }
    bytes[*length] = 0;
    return bytes;
}

static void zygote_main(void) {
    signal(SIGPIPE, SIG_IGN);  // a client gone away is EPIPE, and the loop ends
    // DONT_EXIT: without it espeak calls exit() when its data files are missing.
    int rate = espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 0, NULL, espeakINITIALIZE_DONT_EXIT);
    if (rate <= 0) {
        write_frame(TTS_ZYGOTE_HELLO, -1, NULL, 0);
        _exit(1);
    }
    espeak_SetSynthCallback(child_callback);
    if (write_frame(TTS_ZYGOTE_HELLO, rate, NULL, 0) != 0) _exit(0);
    pid_t self = getpid();
    for (;;) {
        char kind;
        do {
            // End of file: the client closed the pipe or died; so does the zygote.
            if (read_all(STDIN_FILENO, &kind, 1) != 0) _exit(0);
        } while (kind == REQUEST_CANCEL);  // a cancel that came after its child had finished
        if (kind != REQUEST_START) _exit(2);
        int32_t voice_length, text_length;
        char *voice = read_string(MAX_VOICE_BYTES, &voice_length);
        char *text = voice ? read_string(MAX_TEXT_BYTES, &text_length) : NULL;
        if (!text) _exit(2);
        espeak_ERROR voice_status = load_voice(voice);
        pid_t child = fork();
        if (child == 0) child_speak(self, voice_status, text, (size_t)text_length);
        free(voice);
        free(text);
        int status = 0;
        if (child < 0) {
            status = W_EXITCODE(127, 0);
        } else {
            while (waitpid(child, &status, 0) < 0 && errno == EINTR) {}
        }
        if (write_frame(TTS_ZYGOTE_EXITED, status, NULL, 0) != 0) _exit(0);
    }
}

/// Runs before main in every process of an executable that links this target; only a process
/// started by tts_espeak_zygote_spawn has the variable, and it never returns to main.
__attribute__((constructor)) static void tts_espeak_zygote_entry(void) {
    const char *marker = getenv(ZYGOTE_VARIABLE);
    if (!marker || strcmp(marker, "1") != 0) return;
    unsetenv(ZYGOTE_VARIABLE);
    zygote_main();
    _exit(0);
}

// MARK: Starting one

int tts_espeak_zygote_spawn(const char *executable, int32_t *pid, int32_t *request_fd, int32_t *response_fd) {
    signal(SIGPIPE, SIG_IGN);
    int to_zygote[2], from_zygote[2];
    if (pipe2(to_zygote, O_CLOEXEC) != 0) return errno;
    if (pipe2(from_zygote, O_CLOEXEC) != 0) {
        int error = errno;
        close(to_zygote[0]);
        close(to_zygote[1]);
        return error;
    }
    size_t count = 0;
    while (environ && environ[count]) count++;
    char **environment = calloc(count + 2, sizeof *environment);
    int result = ENOMEM;
    if (environment) {
        size_t used = 0;
        for (size_t index = 0; index < count; index++) {
            if (strncmp(environ[index], ZYGOTE_VARIABLE "=", sizeof ZYGOTE_VARIABLE) != 0) {
                environment[used++] = environ[index];
            }
        }
        environment[used++] = ZYGOTE_MARKER;
        environment[used] = NULL;

        posix_spawn_file_actions_t actions;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_adddup2(&actions, to_zygote[0], STDIN_FILENO);
        posix_spawn_file_actions_adddup2(&actions, from_zygote[1], STDOUT_FILENO);
        // Descriptors the process opened without close-on-exec (files, sockets) stay ours.
        posix_spawn_file_actions_addclosefrom_np(&actions, 3);
        posix_spawnattr_t attributes;
        posix_spawnattr_init(&attributes);
        sigset_t empty, defaults;
        sigemptyset(&empty);
        sigemptyset(&defaults);
        int signals[] = { SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGCHLD, SIGUSR1, SIGUSR2 };
        for (size_t index = 0; index < sizeof signals / sizeof *signals; index++) sigaddset(&defaults, signals[index]);
        posix_spawnattr_setsigmask(&attributes, &empty);
        posix_spawnattr_setsigdefault(&attributes, &defaults);
        posix_spawnattr_setpgroup(&attributes, 0);
        posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);
        char *arguments[] = { "tts-espeak-zygote", NULL };
        pid_t started = 0;
        result = posix_spawn(&started, executable, &actions, &attributes, arguments, environment);
        posix_spawnattr_destroy(&attributes);
        posix_spawn_file_actions_destroy(&actions);
        free(environment);
        if (result == 0) *pid = started;
    }
    close(to_zygote[0]);
    close(from_zygote[1]);
    if (result != 0) {
        close(to_zygote[1]);
        close(from_zygote[0]);
        return result;
    }
    *request_fd = to_zygote[1];
    *response_fd = from_zygote[0];
    return 0;
}

int tts_wait_signal(int status) { return WIFSIGNALED(status) ? WTERMSIG(status) : 0; }
int tts_wait_exit_code(int status) { return WIFEXITED(status) ? WEXITSTATUS(status) : -1; }
