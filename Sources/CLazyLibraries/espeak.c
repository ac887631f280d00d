// libespeak-ng, deferred: the offline engine (and with it PulseAudio and ALSA through
// libpcaudio). A cache hit resolves voices from the cached list and never loads it.
#include <espeak-ng/speak_lib.h>
#include "loader.h"

TTS_FORWARD(tts_lazy_espeak, int, espeak_Initialize,
            (espeak_AUDIO_OUTPUT output, int buflength, const char *path, int options),
            (output, buflength, path, options))
TTS_FORWARD(tts_lazy_espeak, const char *, espeak_Info, (const char **path_data), (path_data))
TTS_FORWARD(tts_lazy_espeak, const espeak_VOICE **, espeak_ListVoices, (espeak_VOICE *voice_spec), (voice_spec))
TTS_FORWARD_VOID(tts_lazy_espeak, espeak_SetSynthCallback, (t_espeak_callback *callback), (callback))
TTS_FORWARD(tts_lazy_espeak, espeak_ERROR, espeak_SetVoiceByName, (const char *name), (name))
TTS_FORWARD(tts_lazy_espeak, espeak_ERROR, espeak_SetParameter,
            (espeak_PARAMETER parameter, int value, int relative), (parameter, value, relative))
TTS_FORWARD(tts_lazy_espeak, espeak_ERROR, espeak_Synth,
            (const void *text, size_t size, unsigned int position, espeak_POSITION_TYPE position_type,
             unsigned int end_position, unsigned int flags, unsigned int *unique_identifier, void *user_data),
            (text, size, position, position_type, end_position, flags, unique_identifier, user_data))
TTS_FORWARD(tts_lazy_espeak, espeak_ERROR, espeak_Synchronize, (void), ())
TTS_FORWARD(tts_lazy_espeak, espeak_ERROR, espeak_Cancel, (void), ())
TTS_FORWARD(tts_lazy_espeak, espeak_ERROR, espeak_Terminate, (void), ())
