// GNU libmicrohttpd (Debian libmicrohttpd-dev). MHD_start_daemon is variadic: Swift calls the
// non-variadic wrappers below, which the server target adds here as it needs them.
#include <stddef.h>
#include <stdint.h>
#include <stdarg.h>
#include <sys/types.h>
#include <sys/socket.h>
#include <microhttpd.h>
