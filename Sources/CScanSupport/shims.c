#define _GNU_SOURCE
#include "CScanSupport.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <syslog.h>
#include <spawn.h>
#include <unistd.h>

int vs_statx(int dirfd, const char *path, int want_btime, vs_stat *out) {
    struct statx sx;
    int flags = AT_SYMLINK_NOFOLLOW | AT_STATX_SYNC_AS_STAT;
    if (path[0] == '\0') flags |= AT_EMPTY_PATH;
    unsigned int mask = STATX_TYPE | STATX_MODE | STATX_UID | STATX_GID | STATX_INO | STATX_SIZE | STATX_MTIME | STATX_CTIME;
    if (want_btime) mask |= STATX_BTIME;
    if (statx(dirfd, path, flags, mask, &sx) != 0) return -1;
    out->mode = sx.stx_mode;
    out->uid = sx.stx_uid;
    out->gid = sx.stx_gid;
    out->ino = sx.stx_ino;
    out->dev = ((uint64_t)sx.stx_dev_major << 32) | sx.stx_dev_minor;
    out->size = (int64_t)sx.stx_size;
    out->mtime_sec = sx.stx_mtime.tv_sec; out->mtime_nsec = (int32_t)sx.stx_mtime.tv_nsec;
    out->ctime_sec = sx.stx_ctime.tv_sec; out->ctime_nsec = (int32_t)sx.stx_ctime.tv_nsec;
    out->has_btime = (sx.stx_mask & STATX_BTIME) ? 1 : 0;
    out->btime_sec = out->has_btime ? sx.stx_btime.tv_sec : 0;
    out->btime_nsec = out->has_btime ? (int32_t)sx.stx_btime.tv_nsec : 0;
    return 0;
}

int vs_rename_noreplace(int olddirfd, const char *oldpath, int newdirfd, const char *newpath) {
    return renameat2(olddirfd, oldpath, newdirfd, newpath, RENAME_NOREPLACE);
}

long vs_getdents64(int fd, void *buf, unsigned long len) {
    return (long)getdents64(fd, buf, len);
}

int vs_dirent_at(const void *buf, long offset, uint64_t *ino, unsigned char *type, const char **name, long *next) {
    const struct dirent64 *d = (const struct dirent64 *)((const char *)buf + offset);
    *ino = d->d_ino;
    *type = d->d_type;
    *name = d->d_name;
    *next = offset + d->d_reclen;
    return 0;
}

void vs_syslog(const char *ident, int facility, int priority, const char *message) {
    openlog(ident, LOG_PID, facility);
    syslog(priority, "%s", message);
    closelog();
}

long vs_send_fd(int sock, int fd_to_pass, const void *payload, unsigned long payload_len) {
    struct msghdr msg;
    struct iovec iov;
    char control[CMSG_SPACE(sizeof(int))];
    memset(&msg, 0, sizeof msg);
    memset(control, 0, sizeof control);
    iov.iov_base = (void *)payload;
    iov.iov_len = payload_len;
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cmsg), &fd_to_pass, sizeof(int));
    return (long)sendmsg(sock, &msg, MSG_NOSIGNAL);
}

int vs_thread_setfsuid(uint32_t uid) {
    return (int)syscall(SYS_setfsuid, uid);
}

int vs_mkfifoat(int dirfd, const char *path, uint32_t mode) {
    return mkfifoat(dirfd, path, (mode_t)mode);
}

int vs_spawn_actions_addchdir(void *actions, const char *path) {
    return posix_spawn_file_actions_addchdir_np((posix_spawn_file_actions_t *)actions, path);
}

int vs_open_pty(char *name, unsigned long capacity) {
    int master = posix_openpt(O_RDWR | O_NOCTTY);
    if (master < 0) return -1;
    if (grantpt(master) != 0 || unlockpt(master) != 0 || ptsname_r(master, name, capacity) != 0) {
        int saved = errno;
        close(master);
        errno = saved;
        return -1;
    }
    return master;
}

long vs_copy_file_range(int fd_in, long long *off_in, int fd_out, unsigned long len) {
    off_t offset = (off_t)*off_in;
    ssize_t n = copy_file_range(fd_in, &offset, fd_out, NULL, (size_t)len, 0);
    *off_in = (long long)offset;
    return (long)n;
}
