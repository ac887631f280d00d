#include "loader.h"
#include "CLazyLibraries.h"
#include <dlfcn.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

struct tts_lazy_library tts_lazy_curl = { "libcurl.so.4", "libcurl4", NULL };
struct tts_lazy_library tts_lazy_espeak = { "libespeak-ng.so.1", "libespeak-ng1", NULL };
struct tts_lazy_library tts_lazy_sndfile = { "libsndfile.so.1", "libsndfile1", NULL };
struct tts_lazy_library tts_lazy_microhttpd = { "libmicrohttpd.so.12", "libmicrohttpd12", NULL };

static struct tts_lazy_library *const all_libraries[] = {
    &tts_lazy_curl, &tts_lazy_espeak, &tts_lazy_sndfile, &tts_lazy_microhttpd,
};

/// Serializes first loads, so a library is opened once even when two threads race to it.
static pthread_mutex_t load_lock = PTHREAD_MUTEX_INITIALIZER;

static void fail(const char *what, const char *name, const char *package) {
    const char *reason = dlerror();
    dprintf(STDERR_FILENO, "tts-repl: cannot load %s%s%s (%s); install the Debian package %s (`make deps` does)\n",
            what, name ? " for " : "", name ? name : "", reason ? reason : "unknown reason", package);
    _exit(127);
}

static void *library_handle(struct tts_lazy_library *library) {
    void *handle = __atomic_load_n(&library->handle, __ATOMIC_ACQUIRE);
    if (handle) return handle;
    pthread_mutex_lock(&load_lock);
    handle = library->handle;
    if (!handle) {
        // RTLD_LOCAL: its symbols stay out of the global scope, where the forwarding
        // functions of the same names live.
        handle = dlopen(library->soname, RTLD_NOW | RTLD_LOCAL);
        if (!handle) fail(library->soname, NULL, library->package);
        __atomic_store_n(&library->handle, handle, __ATOMIC_RELEASE);
    }
    pthread_mutex_unlock(&load_lock);
    return handle;
}

void *tts_lazy_resolve(struct tts_lazy_library *library, void **slot, const char *symbol) {
    void *address = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
    if (address) return address;
    // dlsym on the library's own handle searches it and its dependencies, never this
    // executable: the forwarding function cannot find itself.
    address = dlsym(library_handle(library), symbol);
    if (!address) fail(symbol, library->soname, library->package);
    __atomic_store_n(slot, address, __ATOMIC_RELEASE);
    return address;
}

int tts_lazy_library_loaded(const char *soname) {
    for (size_t i = 0; i < sizeof all_libraries / sizeof all_libraries[0]; i++) {
        if (strcmp(all_libraries[i]->soname, soname) == 0)
            return __atomic_load_n(&all_libraries[i]->handle, __ATOMIC_ACQUIRE) != NULL;
    }
    return -1;
}

#if defined(__x86_64__)
#define MULTIARCH "x86_64-linux-gnu"
#elif defined(__aarch64__)
#define MULTIARCH "aarch64-linux-gnu"
#else
#define MULTIARCH ""
#endif

static int identify(const char *folder, size_t length, const char *soname, char *buffer, size_t capacity) {
    char candidate[PATH_MAX], real[PATH_MAX];
    struct stat info;
    if (length == 0 || snprintf(candidate, sizeof candidate, "%.*s/%s", (int) length, folder, soname) >= (int) sizeof candidate)
        return -1;
    if (stat(candidate, &info) != 0 || !S_ISREG(info.st_mode) || !realpath(candidate, real)) return -1;
    int written = snprintf(buffer, capacity, "%s %lld %lld%09ld", real, (long long) info.st_size,
                           (long long) info.st_mtim.tv_sec, info.st_mtim.tv_nsec);
    return written > 0 && (size_t) written < capacity ? 0 : -1;
}

int tts_lazy_library_identity(const char *soname, char *buffer, size_t capacity) {
    const char *search = getenv("LD_LIBRARY_PATH");
    while (search && *search) {
        size_t length = strcspn(search, ":;");
        if (identify(search, length, soname, buffer, capacity) == 0) return 0;
        search += length + (search[length] != 0);
    }
    static const char *const folders[] = {
        "/usr/local/lib/" MULTIARCH, "/lib/" MULTIARCH, "/usr/lib/" MULTIARCH, "/usr/local/lib", "/lib", "/usr/lib",
    };
    for (size_t i = 0; i < sizeof folders / sizeof folders[0]; i++) {
        if (identify(folders[i], strlen(folders[i]), soname, buffer, capacity) == 0) return 0;
    }
    return -1;
}
