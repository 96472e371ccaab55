#ifndef CSCANSUPPORT_H
#define CSCANSUPPORT_H
// Thin wrappers for the Linux calls Swift's Glibc module does not import: statx, renameat2 and
// getdents64 need _GNU_SOURCE, syslog is variadic, and SCM_RIGHTS ancillary data is built with
// function-like macros (CMSG_*). Each wrapper only forwards to the C call it names.
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Metadata read by vs_statx: the fields the pipeline needs, in plain integers.
typedef struct vs_stat {
    uint32_t mode;        // st_mode (type and permission bits)
    uint32_t uid;
    uint32_t gid;
    uint64_t ino;
    uint64_t dev;
    int64_t size;
    int64_t mtime_sec;  int32_t mtime_nsec;
    int64_t ctime_sec;  int32_t ctime_nsec;
    int64_t btime_sec;  int32_t btime_nsec;
    int32_t has_btime;    // 1 when the filesystem reported a birth time
} vs_stat;

/// statx(dirfd, path, AT_SYMLINK_NOFOLLOW [| AT_EMPTY_PATH when path is ""]) into vs_stat.
/// Returns 0 or -1 with errno set.
int vs_statx(int dirfd, const char *path, int want_btime, vs_stat *out);

/// renameat2(olddirfd, oldpath, newdirfd, newpath, RENAME_NOREPLACE). -1/errno (EEXIST when the
/// destination exists; EINVAL/ENOSYS where the filesystem cannot do it).
int vs_rename_noreplace(int olddirfd, const char *oldpath, int newdirfd, const char *newpath);

/// copy_file_range(fd_in, off_in, fd_out, NULL, len, 0): bytes copied (advancing *off_in), 0 at
/// end, -1/errno (EXDEV, ENOSYS, EINVAL, EOPNOTSUPP where it does not apply).
long vs_copy_file_range(int fd_in, long long *off_in, int fd_out, unsigned long len);

/// getdents64 into buf; returns bytes read, 0 at end, -1/errno.
long vs_getdents64(int fd, void *buf, unsigned long len);

/// Walks a getdents64 buffer: returns the record at offset, filling the inode, d_type and name
/// pointer, and the offset of the next record.
int vs_dirent_at(const void *buf, long offset, uint64_t *ino, unsigned char *type, const char **name, long *next);

/// syslog(priority, "%s", message) under the given ident (openlog with LOG_PID).
void vs_syslog(const char *ident, int facility, int priority, const char *message);

/// sendmsg with one SCM_RIGHTS file descriptor and the given payload bytes.
long vs_send_fd(int sock, int fd_to_pass, const void *payload, unsigned long payload_len);

/// setfsuid(2) for the calling thread only (the raw system call; credentials are per thread in
/// the kernel). Tests use it to read a tree as an unprivileged user while running as root.
/// Returns the previous filesystem uid.
int vs_thread_setfsuid(uint32_t uid);

/// mknodat for a FIFO (tests create one to prove it is never counted).
int vs_mkfifoat(int dirfd, const char *path, uint32_t mode);

/// posix_spawn_file_actions_addchdir_np (glibc 2.29+, needs _GNU_SOURCE); `actions` is a
/// posix_spawn_file_actions_t *.
int vs_spawn_actions_addchdir(void *actions, const char *path);

/// posix_openpt(O_RDWR | O_NOCTTY), grantpt, unlockpt, ptsname_r (they need _XOPEN_SOURCE):
/// returns the master side and writes the slave's path into `name`; -1/errno.
int vs_open_pty(char *name, unsigned long capacity);

#ifdef __cplusplus
}
#endif
#endif
