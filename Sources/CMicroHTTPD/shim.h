// GNU libmicrohttpd (Debian libmicrohttpd-dev). MHD_start_daemon, MHD_get_daemon_info and
// MHD_get_connection_info are variadic: Swift calls the non-variadic wrappers below.
#include <stddef.h>
#include <stdint.h>
#include <stdarg.h>
#include <sys/types.h>
#include <sys/socket.h>
#include <microhttpd.h>

/// Starts a daemon bound to `address` with the options the server uses, given as one array:
/// thread pool, connection limit and idle timeout, completion and connection callbacks, and
/// (when `tls_cert` is not NULL) the PEM certificate and key. NULL when it cannot start.
static inline struct MHD_Daemon *tts_mhd_start(unsigned int flags, const struct sockaddr *address,
                                               MHD_AccessHandlerCallback handler, void *handler_context,
                                               MHD_RequestCompletedCallback completed, void *completed_context,
                                               MHD_NotifyConnectionCallback connection, void *connection_context,
                                               unsigned int thread_pool_size, unsigned int connection_limit,
                                               unsigned int per_ip_limit, unsigned int idle_timeout_seconds,
                                               const char *tls_cert, const char *tls_key) {
    struct MHD_OptionItem options[] = {
        { MHD_OPTION_SOCK_ADDR, 0, (void *) address },
        { MHD_OPTION_THREAD_POOL_SIZE, (intptr_t) thread_pool_size, NULL },
        { MHD_OPTION_CONNECTION_LIMIT, (intptr_t) connection_limit, NULL },
        { MHD_OPTION_PER_IP_CONNECTION_LIMIT, (intptr_t) per_ip_limit, NULL },
        { MHD_OPTION_CONNECTION_TIMEOUT, (intptr_t) idle_timeout_seconds, NULL },
        { MHD_OPTION_NOTIFY_COMPLETED, (intptr_t) completed, completed_context },
        { MHD_OPTION_NOTIFY_CONNECTION, (intptr_t) connection, connection_context },
        { tls_cert ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, 0, (void *) tls_cert },
        { tls_key ? MHD_OPTION_HTTPS_MEM_KEY : MHD_OPTION_END, 0, (void *) tls_key },
        { MHD_OPTION_END, 0, NULL },
    };
    return MHD_start_daemon(flags, 0, NULL, NULL, handler, handler_context,
                            MHD_OPTION_ARRAY, options, MHD_OPTION_END);
}

/// The port the daemon listens on (the kernel's choice when bound to port 0); 0 if unknown.
static inline uint16_t tts_mhd_bound_port(struct MHD_Daemon *daemon) {
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(daemon, MHD_DAEMON_INFO_BIND_PORT);
    return info ? info->port : 0;
}

/// The peer's address, or NULL.
static inline const struct sockaddr *tts_mhd_client_address(struct MHD_Connection *connection) {
    const union MHD_ConnectionInfo *info = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    return info ? info->client_addr : NULL;
}

/// The connection's socket, or -1.
static inline int tts_mhd_connection_fd(struct MHD_Connection *connection) {
    const union MHD_ConnectionInfo *info = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CONNECTION_FD);
    return info ? info->connect_fd : -1;
}
