// syncfs(2) needs _GNU_SOURCE before any system header, so it has a file of its own.
#define _GNU_SOURCE
#include <unistd.h>
#include "CShims.h"

int tts_syncfs(int fd) { return syncfs(fd); }
