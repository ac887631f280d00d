/*
 * The floor for `tts-repl serve`'s throughput rows in `make bench`: the least a server on
 * libmicrohttpd can do per request. It answers every GET with one file, opened per request and
 * sent with MHD_create_response_from_fd (sendfile), with the daemon flags and thread count
 * `serve` uses: internal polling thread, epoll, suspend/resume allowed, turbo, a pool of 2.
 * Whatever serve does on top (routing, the index look-up, headers) shows as its ratio to this.
 *
 *   cc -O2 -o mhd-floor mhd-floor.c -lmicrohttpd
 *   mhd-floor FILE PORT_FILE      listens on 127.0.0.1, a free port written to PORT_FILE;
 *                                 stops on SIGTERM or SIGINT.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *file_path;

static enum MHD_Result answer(void *cls, struct MHD_Connection *connection, const char *url, const char *method,
                              const char *version, const char *upload_data, size_t *upload_data_size, void **state) {
    (void)cls; (void)url; (void)version; (void)upload_data; (void)upload_data_size; (void)state;
    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0) return MHD_NO;
    int fd = open(file_path, O_RDONLY | O_CLOEXEC);
    struct stat info;
    if (fd < 0 || fstat(fd, &info) != 0) {
        if (fd >= 0) close(fd);
        return MHD_NO;
    }
    /* The response owns fd and closes it when the answer is sent. */
    struct MHD_Response *response = MHD_create_response_from_fd((size_t)info.st_size, fd);
    if (response == NULL) {
        close(fd);
        return MHD_NO;
    }
    MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, "audio/wav");
    enum MHD_Result queued = MHD_queue_response(connection, MHD_HTTP_OK, response);
    MHD_destroy_response(response);
    return queued;
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: mhd-floor FILE PORT_FILE\n");
        return 2;
    }
    file_path = argv[1];
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    /* Blocked before the daemon's threads start, so they inherit the mask and only sigwait sees them. */
    pthread_sigmask(SIG_BLOCK, &stop, NULL);

    struct sockaddr_in address;
    memset(&address, 0, sizeof address);
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = 0;
    struct MHD_Daemon *daemon = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_TURBO, 0, NULL, NULL,
        &answer, NULL, MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)2, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&address,
        MHD_OPTION_END);
    if (daemon == NULL) {
        fprintf(stderr, "mhd-floor: MHD_start_daemon failed\n");
        return 1;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(daemon, MHD_DAEMON_INFO_BIND_PORT);
    FILE *port_file = fopen(argv[2], "w");
    if (info == NULL || port_file == NULL) {
        fprintf(stderr, "mhd-floor: cannot report the port\n");
        MHD_stop_daemon(daemon);
        return 1;
    }
    fprintf(port_file, "%u\n", (unsigned int)info->port);
    fclose(port_file);

    int received;
    sigwait(&stop, &received);
    MHD_stop_daemon(daemon);
    return 0;
}
