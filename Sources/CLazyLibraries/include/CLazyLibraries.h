// Libraries a cache hit never needs, loaded on first use instead of at process start.
//
// libcurl (the Gemini engine), libespeak-ng (the offline engine), libsndfile (the compressed
// formats) and libmicrohttpd (`serve`) bring about sixty shared libraries with them: codecs,
// TLS stacks, Kerberos, LDAP, PulseAudio, X11. Linked normally, the dynamic loader maps and
// relocates every one of them in every process, which made a one-shot cached `say` spend most
// of its time in the loader. Here each of their functions the program calls is defined under
// its own name and forwards to the real one, which `dlopen` finds the first time any of that
// library's functions is called. Swift code imports the C modules as before and never knows.
//
// A library that cannot be loaded ends the process with status 127 and a message naming the
// library and the Debian package that provides it: the same outcome, and the same status, as
// the dynamic loader's refusal to start when a NEEDED library is missing.
#ifndef TTS_CLAZYLIBRARIES_H
#define TTS_CLAZYLIBRARIES_H
#include <stddef.h>

/// Which of the deferred libraries this process has loaded so far, by soname (for tests and
/// `health`): 1 when loaded, 0 when not, -1 for a name that is not one of them.
int tts_lazy_library_loaded(const char *soname);

/// Names the file the loader would open for `soname`, without loading it: "<real path> <size>
/// <mtime in ns>" of the first match in LD_LIBRARY_PATH, then the multiarch and plain library
/// folders. A package upgrade replaces the file, so the text changes with it: it stamps what
/// was learnt from the library (espeak-ng's voice list). 0, or -1 when no such file is found.
int tts_lazy_library_identity(const char *soname, char *buffer, size_t capacity);

#endif
