#ifndef CCLAMAVWORKER_H
#define CCLAMAVWORKER_H
// The scanning process of ScanCore's ScanWorkerPool, in C.
//
// Why C: the pool forks after the engine is loaded so that every worker shares the compiled
// engine copy-on-write. A child forked from a multi-threaded process must not touch anything a
// vanished thread may have held locked at the instant of the fork: the Swift runtime's metadata
// locks, libdispatch (which refuses to run in such a child), our own Swift mutexes. The child
// therefore runs only this loop: glibc (whose fork resets malloc and stdio locks) and libclamav,
// with libclamav's callbacks replaced by C ones. libclamav's own global locks are kept free at
// the fork by vsw_guard_enter/leave (a process-wide read-write lock every in-process libclamav
// call holds for reading while the fork holds it for writing).
#include <stdint.h>
#include <sys/types.h>
#include <clamav.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Brackets every libclamav call made in this process outside the workers (loading, compiling,
/// in-process scans, freeing an engine), so that no libclamav lock is held when a worker forks.
void vsw_guard_enter(void);
void vsw_guard_leave(void);

/// Forks one scanning process for `engine` (compiled) with `options`. On success returns the
/// child's pid and stores the parent's end of a SOCK_SEQPACKET socket pair (close-on-exec) in
/// `*sock`; returns -1 with errno set otherwise. The child closes every descriptor above 2
/// except its end of the pair (so it never holds the parent's locks, sockets or earlier workers'
/// pairs), ignores SIGINT, SIGTERM, SIGHUP and SIGPIPE (it ends when its socket does), and
/// reseeds rand(), from which libclamav draws its temporary file names.
///
/// Protocol: the parent sends one request per file: payload = the name (for libclamav's
/// messages, up to 4095 bytes), one SCM_RIGHTS descriptor. The worker scans it from offset 0
/// and replies with one message: vsw_reply_header followed by the signature name libclamav
/// returned, the last name the virus-found callback reported, and the errors and warnings
/// libclamav printed (each message followed by a NUL; warnings start with "warning: ").
/// End of file on the socket (the parent closed it or died) ends the worker with status 0.
pid_t vsw_spawn(struct cl_engine *engine, const struct cl_scan_options *options, int *sock);

typedef struct vsw_reply_header {
    int32_t rc;             // cl_error_t of cl_scandesc_callback
    uint32_t virname_len;   // bytes of the returned signature name (0 when none)
    uint32_t found_len;     // bytes of the last name the virus-found callback saw (0 when none)
    uint32_t messages_len;  // bytes of the NUL-terminated messages
} vsw_reply_header;

/// The largest reply a worker sends.
#define VSW_REPLY_MAX 65536

/// Sends one request: `name` (`name_len` bytes) with `fd` attached. Returns 0, or -1 with errno
/// (EPIPE or ECONNRESET when the worker is gone).
int vsw_send_request(int sock, int fd, const char *name, unsigned long name_len);

/// Waits up to `timeout_ms` (-1: forever) for one reply and reads it into `buffer`. Returns its
/// length, 0 when the worker closed the socket (it died), or -1 with errno (ETIMEDOUT when the
/// deadline passed).
long vsw_receive_reply(int sock, void *buffer, unsigned long capacity, int timeout_ms);

#ifdef __cplusplus
}
#endif
#endif
