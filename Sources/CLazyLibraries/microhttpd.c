// libmicrohttpd, deferred: `serve` (and with it GnuTLS and its helpers). Only a server loads it.
#include <stdarg.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/socket.h>
#include <microhttpd.h>
#include "loader.h"

TTS_FORWARD(tts_lazy_microhttpd, enum MHD_Result, MHD_add_response_header,
            (struct MHD_Response *response, const char *header, const char *content), (response, header, content))
TTS_FORWARD(tts_lazy_microhttpd, struct MHD_Response *, MHD_create_response_from_buffer,
            (size_t size, void *buffer, enum MHD_ResponseMemoryMode mode), (size, buffer, mode))
TTS_FORWARD(tts_lazy_microhttpd, struct MHD_Response *, MHD_create_response_from_callback,
            (uint64_t size, size_t block_size, MHD_ContentReaderCallback crc, void *crc_cls,
             MHD_ContentReaderFreeCallback crfc),
            (size, block_size, crc, crc_cls, crfc))
TTS_FORWARD(tts_lazy_microhttpd, struct MHD_Response *, MHD_create_response_from_fd_at_offset64,
            (uint64_t size, int fd, uint64_t offset), (size, fd, offset))
TTS_FORWARD_VOID(tts_lazy_microhttpd, MHD_destroy_response, (struct MHD_Response *response), (response))
TTS_FORWARD(tts_lazy_microhttpd, int, MHD_get_connection_values,
            (struct MHD_Connection *connection, enum MHD_ValueKind kind, MHD_KeyValueIterator iterator,
             void *iterator_cls),
            (connection, kind, iterator, iterator_cls))
TTS_FORWARD(tts_lazy_microhttpd, enum MHD_Result, MHD_queue_response,
            (struct MHD_Connection *connection, unsigned int status_code, struct MHD_Response *response),
            (connection, status_code, response))
TTS_FORWARD(tts_lazy_microhttpd, MHD_socket, MHD_quiesce_daemon, (struct MHD_Daemon *daemon), (daemon))
TTS_FORWARD_VOID(tts_lazy_microhttpd, MHD_suspend_connection, (struct MHD_Connection *connection), (connection))
TTS_FORWARD_VOID(tts_lazy_microhttpd, MHD_resume_connection, (struct MHD_Connection *connection), (connection))
TTS_FORWARD_VOID(tts_lazy_microhttpd, MHD_stop_daemon, (struct MHD_Daemon *daemon), (daemon))

/// Variadic option list: forwarded whole through the library's own va_list entry point.
struct MHD_Daemon *MHD_start_daemon(unsigned int flags, uint16_t port, MHD_AcceptPolicyCallback apc, void *apc_cls,
                                    MHD_AccessHandlerCallback dh, void *dh_cls, ...) {
    static void *slot;
    __typeof__(MHD_start_daemon_va) *real = tts_lazy_resolve(&tts_lazy_microhttpd, &slot, "MHD_start_daemon_va");
    va_list options;
    va_start(options, dh_cls);
    struct MHD_Daemon *daemon = real(flags, port, apc, apc_cls, dh, dh_cls, options);
    va_end(options);
    return daemon;
}

/// Variadic with no argument for the kinds this program asks about; none is read.
const union MHD_DaemonInfo *MHD_get_daemon_info(struct MHD_Daemon *daemon, enum MHD_DaemonInfoType info_type, ...) {
    static void *slot;
    __typeof__(MHD_get_daemon_info) *real = tts_lazy_resolve(&tts_lazy_microhttpd, &slot, "MHD_get_daemon_info");
    return real(daemon, info_type);
}

const union MHD_ConnectionInfo *MHD_get_connection_info(struct MHD_Connection *connection,
                                                         enum MHD_ConnectionInfoType info_type, ...) {
    static void *slot;
    __typeof__(MHD_get_connection_info) *real = tts_lazy_resolve(&tts_lazy_microhttpd, &slot, "MHD_get_connection_info");
    return real(connection, info_type);
}
