// libsndfile 1.2 (Debian libsndfile1-dev): FLAC, Ogg Opus, Ogg Vorbis and MP3 (through LAME).
// Nothing here needs a wrapper: sf_open_virtual, sf_command and sf_writef_short are not
// variadic, and the format and command constants are plain enums.
#include <sndfile.h>
