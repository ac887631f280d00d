// libsndfile, deferred: the compressed formats (and with them FLAC, Ogg, Vorbis, Opus, LAME
// and mpg123). Only a conversion loads it.
#include <sndfile.h>
#include "loader.h"

TTS_FORWARD(tts_lazy_sndfile, SNDFILE *, sf_open_virtual,
            (SF_VIRTUAL_IO *sfvirtual, int mode, SF_INFO *sfinfo, void *user_data),
            (sfvirtual, mode, sfinfo, user_data))
TTS_FORWARD(tts_lazy_sndfile, int, sf_format_check, (const SF_INFO *info), (info))
TTS_FORWARD(tts_lazy_sndfile, int, sf_command, (SNDFILE *sndfile, int command, void *data, int datasize),
            (sndfile, command, data, datasize))
TTS_FORWARD(tts_lazy_sndfile, sf_count_t, sf_writef_short, (SNDFILE *sndfile, const short *ptr, sf_count_t frames),
            (sndfile, ptr, frames))
TTS_FORWARD(tts_lazy_sndfile, sf_count_t, sf_readf_short, (SNDFILE *sndfile, short *ptr, sf_count_t frames),
            (sndfile, ptr, frames))
TTS_FORWARD(tts_lazy_sndfile, int, sf_close, (SNDFILE *sndfile), (sndfile))
TTS_FORWARD(tts_lazy_sndfile, const char *, sf_strerror, (SNDFILE *sndfile), (sndfile))
TTS_FORWARD(tts_lazy_sndfile, const char *, sf_error_number, (int errnum), (errnum))
