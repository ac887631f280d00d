#include "CShims.h"

sqlite3_destructor_type tts_sqlite_transient(void) { return SQLITE_TRANSIENT; }

CURLcode tts_curl_setopt_long(CURL *h, CURLoption o, long v) { return curl_easy_setopt(h, o, v); }
CURLcode tts_curl_setopt_string(CURL *h, CURLoption o, const char *v) { return curl_easy_setopt(h, o, v); }
CURLcode tts_curl_setopt_pointer(CURL *h, CURLoption o, void *v) { return curl_easy_setopt(h, o, v); }
CURLcode tts_curl_setopt_offset(CURL *h, CURLoption o, curl_off_t v) { return curl_easy_setopt(h, o, v); }
CURLcode tts_curl_getinfo_long(CURL *h, CURLINFO i, long *v) { return curl_easy_getinfo(h, i, v); }
CURLcode tts_curl_getinfo_double(CURL *h, CURLINFO i, double *v) { return curl_easy_getinfo(h, i, v); }
CURLcode tts_curl_setopt_write_function(CURL *h, curl_write_callback f) { return curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, f); }
CURLcode tts_curl_setopt_header_function(CURL *h, curl_write_callback f) { return curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, f); }
CURLcode tts_curl_setopt_xferinfo_function(CURL *h, curl_xferinfo_callback f) { return curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, f); }
CURLcode tts_curl_global_init_all(void) { return curl_global_init(CURL_GLOBAL_ALL); }

uint64_t tts_atomic_load_u64(const uint64_t *w) { return __atomic_load_n(w, __ATOMIC_SEQ_CST); }
void tts_atomic_add_u64(uint64_t *w, uint64_t v) { __atomic_add_fetch(w, v, __ATOMIC_SEQ_CST); }
