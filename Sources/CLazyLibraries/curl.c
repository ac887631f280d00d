// libcurl, deferred: the Gemini engine's HTTP (and the tests' client). See CLazyLibraries.h.
#define CURL_DISABLE_TYPECHECK 1 /* curl.h otherwise turns curl_easy_setopt into a macro */
#include <curl/curl.h>
#include <stdarg.h>
#include "loader.h"

TTS_FORWARD(tts_lazy_curl, CURLcode, curl_global_init, (long flags), (flags))
TTS_FORWARD(tts_lazy_curl, CURL *, curl_easy_init, (void), ())
TTS_FORWARD(tts_lazy_curl, CURLcode, curl_easy_perform, (CURL *curl), (curl))
TTS_FORWARD_VOID(tts_lazy_curl, curl_easy_reset, (CURL *curl), (curl))
TTS_FORWARD_VOID(tts_lazy_curl, curl_easy_cleanup, (CURL *curl), (curl))
TTS_FORWARD(tts_lazy_curl, const char *, curl_easy_strerror, (CURLcode code), (code))
TTS_FORWARD(tts_lazy_curl, struct curl_slist *, curl_slist_append, (struct curl_slist *list, const char *line), (list, line))
TTS_FORWARD_VOID(tts_lazy_curl, curl_slist_free_all, (struct curl_slist *list), (list))

/// Variadic with exactly one argument, whose type the option's number range names — the rule
/// curl's own curl_easy_setopt follows to read it.
CURLcode curl_easy_setopt(CURL *curl, CURLoption option, ...) {
    static void *slot;
    CURLcode (*real)(CURL *, CURLoption, ...) = tts_lazy_resolve(&tts_lazy_curl, &slot, "curl_easy_setopt");
    va_list arguments;
    va_start(arguments, option);
    CURLcode result;
    if (option < CURLOPTTYPE_OBJECTPOINT) result = real(curl, option, va_arg(arguments, long));
    else if (option < CURLOPTTYPE_FUNCTIONPOINT) result = real(curl, option, va_arg(arguments, void *));
    else if (option < CURLOPTTYPE_OFF_T) result = real(curl, option, va_arg(arguments, void (*)(void)));
    else if (option < CURLOPTTYPE_BLOB) result = real(curl, option, va_arg(arguments, curl_off_t));
    else result = real(curl, option, va_arg(arguments, void *));
    va_end(arguments);
    return result;
}

/// Variadic with exactly one argument, always a pointer to where the answer goes.
CURLcode curl_easy_getinfo(CURL *curl, CURLINFO info, ...) {
    static void *slot;
    CURLcode (*real)(CURL *, CURLINFO, ...) = tts_lazy_resolve(&tts_lazy_curl, &slot, "curl_easy_getinfo");
    va_list arguments;
    va_start(arguments, info);
    CURLcode result = real(curl, info, va_arg(arguments, void *));
    va_end(arguments);
    return result;
}
