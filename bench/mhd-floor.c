/*
 * The floor for `tts-repl serve`'s throughput rows in `make bench`: the least a server on
 * libmicrohttpd can do per request. It answers every GET with one file, opened per request and
 * sent with MHD_create_response_from_fd (sendfile), with the daemon flags and thread count
 * `serve` uses: internal polling thread, epoll, suspend/resume allowed, turbo, a pool of 2.
 * Whatever serve does on top (routing, the index look-up, headers) shows as its ratio to this.
 *
 * Any other method (a POST) is the floor of a miss: the body is read, the connection suspended,
 * and a timer thread resumes it PARK_MS later to answer the same file. It is what the isolation
 * row's misses cost libmicrohttpd itself (suspended connections, the resume's wake-up of the
 * daemon thread, the answer), with nothing of serve on top.
 *
 *   cc -O2 -o mhd-floor mhd-floor.c -lmicrohttpd -lpthread
 *   mhd-floor FILE PORT_FILE [PARK_MS]   listens on 127.0.0.1, a free port written to PORT_FILE;
 *                                        parks misses 2000 ms unless told; stops on SIGTERM or SIGINT.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char *file_path;
static long park_ms = 2000;

/* A parked miss: resumed by the timer thread at `due`. Every miss waits the same time, so the
 * queue is in order of `due` and the timer only ever looks at its head. */
struct parked {
    struct MHD_Connection *connection;
    struct timespec due;
    int resumed;
    struct parked *next;
};
static pthread_mutex_t park_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t park_added = PTHREAD_COND_INITIALIZER;
static struct parked *park_head, *park_tail;

static void *resume_parked(void *unused) {
    (void)unused;
    pthread_mutex_lock(&park_lock);
    for (;;) {
        while (park_head == NULL) pthread_cond_wait(&park_added, &park_lock);
        struct parked *head = park_head;
        if (pthread_cond_timedwait(&park_added, &park_lock, &head->due) == 0) continue;
        park_head = head->next;
        if (park_head == NULL) park_tail = NULL;
        head->resumed = 1;
        MHD_resume_connection(head->connection);
    }
    return NULL;
}

static void park(struct parked *miss, struct MHD_Connection *connection) {
    miss->connection = connection;
    miss->next = NULL;
    clock_gettime(CLOCK_REALTIME, &miss->due);
    miss->due.tv_sec += park_ms / 1000;
    miss->due.tv_nsec += (park_ms % 1000) * 1000000L;
    if (miss->due.tv_nsec >= 1000000000L) {
        miss->due.tv_sec += 1;
        miss->due.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&park_lock);
    /* Suspended under the lock, so the timer's resume always comes after it. */
    MHD_suspend_connection(connection);
    if (park_tail) park_tail->next = miss; else park_head = miss;
    park_tail = miss;
    pthread_cond_signal(&park_added);
    pthread_mutex_unlock(&park_lock);
}

static void completed(void *cls, struct MHD_Connection *connection, void **state, enum MHD_RequestTerminationCode code) {
    (void)cls; (void)connection; (void)code;
    free(*state);
    *state = NULL;
}

static enum MHD_Result answer(void *cls, struct MHD_Connection *connection, const char *url, const char *method,
                              const char *version, const char *upload_data, size_t *upload_data_size, void **state) {
    (void)cls; (void)url; (void)version; (void)upload_data;
    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0) {
        struct parked *miss = *state;
        if (miss == NULL) {
            *state = calloc(1, sizeof *miss);
            return *state ? MHD_YES : MHD_NO;
        }
        if (*upload_data_size > 0) {
            *upload_data_size = 0;
            return MHD_YES;
        }
        if (!miss->resumed) {
            park(miss, connection);
            return MHD_YES;
        }
    }
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
    if (argc != 3 && argc != 4) {
        fprintf(stderr, "usage: mhd-floor FILE PORT_FILE [PARK_MS]\n");
        return 2;
    }
    file_path = argv[1];
    if (argc == 4) park_ms = atol(argv[3]);
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    /* Blocked before the daemon's threads start, so they inherit the mask and only sigwait sees them. */
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    pthread_t timer;
    pthread_create(&timer, NULL, resume_parked, NULL);

    struct sockaddr_in address;
    memset(&address, 0, sizeof address);
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = 0;
    struct MHD_Daemon *daemon = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_TURBO, 0, NULL, NULL,
        &answer, NULL, MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)2, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&address,
        MHD_OPTION_NOTIFY_COMPLETED, &completed, NULL, MHD_OPTION_END);
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
    /* Stopping with suspended connections is undefined in libmicrohttpd: leave them to exit. */
    pthread_mutex_lock(&park_lock);
    int idle = park_head == NULL;
    pthread_mutex_unlock(&park_lock);
    if (idle) MHD_stop_daemon(daemon);
    return 0;
}
