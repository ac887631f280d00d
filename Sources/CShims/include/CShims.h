// Non-variadic, non-macro entry points for the C APIs Swift cannot call directly.
#ifndef TTS_CSHIMS_H
#define TTS_CSHIMS_H
#include <sqlite3.h>
#include <curl/curl.h>
/* setxattr/getxattr: the Glibc module does not import <sys/xattr.h>. */
#include <sys/xattr.h>

/// SQLITE_TRANSIENT is a cast macro: SQLite copies the bound value before returning.
sqlite3_destructor_type tts_sqlite_transient(void);

/// curl_easy_setopt / curl_easy_getinfo are variadic; one typed wrapper per argument kind.
CURLcode tts_curl_setopt_long(CURL *handle, CURLoption option, long value);
CURLcode tts_curl_setopt_string(CURL *handle, CURLoption option, const char *value);
CURLcode tts_curl_setopt_pointer(CURL *handle, CURLoption option, void *value);
CURLcode tts_curl_setopt_offset(CURL *handle, CURLoption option, curl_off_t value);
CURLcode tts_curl_getinfo_long(CURL *handle, CURLINFO info, long *value);
CURLcode tts_curl_getinfo_double(CURL *handle, CURLINFO info, double *value);
/// Callback setters typed for Swift, so a capture-free closure converts to the C function pointer.
CURLcode tts_curl_setopt_write_function(CURL *handle, curl_write_callback callback);
/// Response header lines, one call per line (the same signature as the write callback).
CURLcode tts_curl_setopt_header_function(CURL *handle, curl_write_callback callback);
CURLcode tts_curl_setopt_xferinfo_function(CURL *handle, curl_xferinfo_callback callback);
/// CURL_GLOBAL_ALL is a composite macro that does not import.
CURLcode tts_curl_global_init_all(void);

/// syncfs(2) is a GNU extension the Glibc module does not import: flushes every dirty page
/// and metadata change of the file system holding `fd`. 0 or -1 with errno.
int tts_syncfs(int fd);

/// Sequentially consistent load and add on a 64-bit word in memory shared between processes
/// (a MAP_SHARED mapping): Swift's `Atomic` cannot live at an address it did not allocate.
#include <stdint.h>
uint64_t tts_atomic_load_u64(const uint64_t *word);
void tts_atomic_add_u64(uint64_t *word, uint64_t value);

#endif
