// The one loader behind every forwarding function in this folder (see CLazyLibraries.h).
#ifndef TTS_LAZY_LOADER_H
#define TTS_LAZY_LOADER_H

/// One deferred library: its soname, the Debian package to name when it is missing, and the
/// handle once loaded (written once, under the loader's lock; read without it).
struct tts_lazy_library {
    const char *soname;
    const char *package;
    void *handle;
};

extern struct tts_lazy_library tts_lazy_curl, tts_lazy_espeak, tts_lazy_sndfile, tts_lazy_microhttpd;

/// The address of `symbol` in `library`, cached in `*slot`: loads the library on the first call
/// for any of its symbols. Never returns NULL (a missing library or symbol ends the process).
void *tts_lazy_resolve(struct tts_lazy_library *library, void **slot, const char *symbol);

/// Defines `name` as a function forwarding to the library's own `name`. `params` is the
/// declaration's parameter list and `args` the call's argument list; the header's prototype of
/// `name` is in scope, so a parameter list that disagrees with it does not compile.
#define TTS_FORWARD(library, result, name, params, args) \
    result name params { \
        static void *slot; \
        __typeof__(name) *real = (__typeof__(name) *) tts_lazy_resolve(&(library), &slot, #name); \
        return real args; \
    }

/// The same for a function returning nothing.
#define TTS_FORWARD_VOID(library, name, params, args) \
    void name params { \
        static void *slot; \
        __typeof__(name) *real = (__typeof__(name) *) tts_lazy_resolve(&(library), &slot, #name); \
        real args; \
    }

#endif
