#define _GNU_SOURCE
#include "CClamAVWorker.h"
#include "CScanSupport.h"
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

// Writers first: a fork waits for the scans in progress to end, and new scans wait for it.
static pthread_rwlock_t guard = PTHREAD_RWLOCK_WRITER_NONRECURSIVE_INITIALIZER_NP;

void vsw_guard_enter(void) { pthread_rwlock_rdlock(&guard); }
void vsw_guard_leave(void) { pthread_rwlock_unlock(&guard); }

// ---- the child ----------------------------------------------------------------------------
// Single-threaded after the fork, so plain globals.

static char reply[VSW_REPLY_MAX];
static char messages[VSW_REPLY_MAX / 2];
static size_t messages_len;
static char found[1024];
static size_t found_len;

static void child_message(enum cl_msg severity, const char *fullmsg, const char *msg, void *context) {
    (void)fullmsg;
    (void)context;
    if (severity < CL_MSG_WARN || msg == NULL) return;
    const char *prefix = severity == CL_MSG_WARN ? "warning: " : "";
    size_t prefix_len = strlen(prefix);
    size_t len = strlen(msg);
    while (len > 0 && (msg[len - 1] == '\n' || msg[len - 1] == ' ')) len--;
    if (messages_len + prefix_len + len + 1 > sizeof messages) return;  // keep the first ones
    memcpy(messages + messages_len, prefix, prefix_len);
    memcpy(messages + messages_len + prefix_len, msg, len);
    messages_len += prefix_len + len;
    messages[messages_len++] = '\0';
}

static void child_virus_found(int fd, const char *virname, void *context) {
    (void)fd;
    (void)context;
    if (virname == NULL) return;
    size_t len = strlen(virname);
    if (len > sizeof found) len = sizeof found;
    memcpy(found, virname, len);
    found_len = len;
}

// Receives one request: returns the descriptor (or -2 when none came with it), -1 at end of
// file or on an error that ends the worker.
static int child_receive(int sock, char *name, size_t name_cap) {
    for (;;) {
        struct msghdr msg;
        struct iovec iov;
        char control[CMSG_SPACE(sizeof(int) * 4)];
        memset(&msg, 0, sizeof msg);
        iov.iov_base = name;
        iov.iov_len = name_cap - 1;
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control;
        msg.msg_controllen = sizeof control;
        ssize_t n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return -1;
        name[n] = '\0';
        int fd = -2;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c)) {
            if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
            size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
            for (size_t i = 0; i < count; i++) {
                int passed;
                memcpy(&passed, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
                if (fd == -2) fd = passed; else close(passed);
            }
        }
        return fd;
    }
}

static int child_send(int sock, int32_t rc, const char *virname) {
    vsw_reply_header header;
    size_t virname_len = virname ? strlen(virname) : 0;
    size_t room = sizeof reply - sizeof header;
    if (virname_len > 1024) virname_len = 1024;
    if (virname_len + found_len + messages_len > room) messages_len = room - virname_len - found_len;
    header.rc = rc;
    header.virname_len = (uint32_t)virname_len;
    header.found_len = (uint32_t)found_len;
    header.messages_len = (uint32_t)messages_len;
    char *p = reply;
    memcpy(p, &header, sizeof header); p += sizeof header;
    if (virname_len) { memcpy(p, virname, virname_len); p += virname_len; }
    if (found_len) { memcpy(p, found, found_len); p += found_len; }
    if (messages_len) { memcpy(p, messages, messages_len); p += messages_len; }
    for (;;) {
        ssize_t n = send(sock, reply, (size_t)(p - reply), MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        return n < 0 ? -1 : 0;
    }
}

static void child_close_other_descriptors(int keep) {
    if (keep > 3) close_range(3, (unsigned)keep - 1, 0);
    close_range((unsigned)keep + 1, ~0U, 0);
}

static void __attribute__((noreturn)) child_main(struct cl_engine *engine, struct cl_scan_options options, int sock) {
    signal(SIGINT, SIG_IGN);
    signal(SIGTERM, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
    signal(SIGPIPE, SIG_IGN);
    sigset_t all;
    sigemptyset(&all);
    sigprocmask(SIG_SETMASK, &all, NULL);
    prctl(PR_SET_NAME, "scan-worker", 0, 0, 0);
    child_close_other_descriptors(sock);
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    srand((unsigned)getpid() ^ (unsigned)now.tv_nsec ^ (unsigned)now.tv_sec);
    cl_set_clcb_msg(child_message);
    cl_engine_set_clcb_virus_found(engine, child_virus_found);

    char name[4096];
    for (;;) {
        int fd = child_receive(sock, name, sizeof name);
        if (fd == -1) _exit(0);
        messages_len = 0;
        found_len = 0;
        if (fd == -2) {
            child_message(CL_MSG_ERROR, NULL, "no file descriptor came with the request", NULL);
            if (child_send(sock, -1, NULL) != 0) _exit(1);
            continue;
        }
        const char *virname = NULL;
        unsigned long scanned = 0;
        if (lseek(fd, 0, SEEK_SET) < 0) {
            char text[256];
            snprintf(text, sizeof text, "cannot rewind the file: %s", strerror(errno));
            child_message(CL_MSG_ERROR, NULL, text, NULL);
            close(fd);
            if (child_send(sock, -1, NULL) != 0) _exit(1);
            continue;
        }
        cl_error_t rc = cl_scandesc_callback(fd, name[0] ? name : NULL, &virname, &scanned, engine, &options, NULL);
        close(fd);
        if (child_send(sock, (int32_t)rc, rc == CL_VIRUS ? virname : NULL) != 0) _exit(1);
    }
}

// ---- the parent ---------------------------------------------------------------------------

pid_t vsw_spawn(struct cl_engine *engine, const struct cl_scan_options *options, int *sock) {
    int pair[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0) return -1;
    struct cl_scan_options copy = *options;
    pthread_rwlock_wrlock(&guard);
    pid_t pid = fork();
    if (pid == 0) {
        close(pair[0]);
        child_main(engine, copy, pair[1]);
    }
    int saved = errno;
    pthread_rwlock_unlock(&guard);
    close(pair[1]);
    if (pid < 0) {
        close(pair[0]);
        errno = saved;
        return -1;
    }
    *sock = pair[0];
    return pid;
}

int vsw_send_request(int sock, int fd, const char *name, unsigned long name_len) {
    char empty = 0;
    if (name_len > 4095) name_len = 4095;
    for (;;) {
        // A zero-length datagram would read as end of file on the other side: send one NUL instead.
        long n = name_len ? vs_send_fd(sock, fd, name, name_len) : vs_send_fd(sock, fd, &empty, 1);
        if (n < 0 && errno == EINTR) continue;
        return n < 0 ? -1 : 0;
    }
}

long vsw_receive_reply(int sock, void *buffer, unsigned long capacity, int timeout_ms) {
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        int wait = timeout_ms;
        if (timeout_ms >= 0) {
            clock_gettime(CLOCK_MONOTONIC, &now);
            long spent = (now.tv_sec - start.tv_sec) * 1000L + (now.tv_nsec - start.tv_nsec) / 1000000L;
            wait = spent >= timeout_ms ? 0 : (int)(timeout_ms - spent);
        }
        struct pollfd p = { .fd = sock, .events = POLLIN };
        int ready = poll(&p, 1, wait);
        if (ready < 0 && errno == EINTR) continue;
        if (ready < 0) return -1;
        if (ready == 0) { errno = ETIMEDOUT; return -1; }
        ssize_t n = recv(sock, buffer, capacity, 0);
        if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
        if (n < 0 && errno == ECONNRESET) return 0;
        return (long)n;
    }
}
