#include <sqlite3.h>

/// Turns off SQLite's count of its own memory (`SQLITE_CONFIG_MEMSTATUS`), which takes a global
/// mutex on every allocation and free; tts-repl never reads the count. Must run before the
/// first connection opens (SQLITE_MISUSE after, which changes nothing). `sqlite3_config` is
/// variadic, so Swift cannot call it directly.
static inline int tts_sqlite_turn_off_memory_status(void) {
    return sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}
