// SHA-256 with the CPU's SHA extensions (x86-64 SHA-NI), written here; see sha256_x86.c.
// TTSCore's SHA256 uses it for whole blocks when the CPU has the instructions and its portable
// Swift code otherwise; both share the Swift framing (buffering, padding, digest).
#ifndef TTS_CSHA256_H
#define TTS_CSHA256_H
#include <stddef.h>
#include <stdint.h>

/// 1 when this CPU has the SHA, SSSE3 and SSE4.1 instructions `tts_sha256_blocks` needs (CPUID,
/// checked once); always 0 on other architectures.
int tts_sha256_hardware_available(void);

/// Runs the SHA-256 compression function over `blocks` 64-byte blocks at `data`, updating the
/// eight state words H0…H7. Call only when `tts_sha256_hardware_available()` is 1.
void tts_sha256_blocks(uint32_t state[8], const uint8_t *data, size_t blocks);

#endif
