// libc_internal: syscalls libc makes from inside itself, which no LD_PRELOAD
// wrapper sees and rrx buffers by patching libc's syscall sites: readdir's
// getdents64, malloc's mmap/munmap for large blocks, fstatat, isatty's
// ioctl(TCGETS), ioctl(FIONREAD); poll/epoll_wait with a zero timeout, and
// sigaction queries.
// Each round lists a directory of files whose names and sizes change from
// round to round and allocates blocks above malloc's mmap threshold, in a
// child process too (fork copies the patched libc). Prints what it saw:
// the directory order, inode numbers and block addresses depend on the run
// and must replay exactly.
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static uint64_t list_dir(const char* dir) {
  DIR* d = opendir(dir);
  if (!d) return 0;
  uint64_t hash = 0;
  struct dirent* e;
  while ((e = readdir(d)) != NULL) {
    struct stat st;
    if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
    for (const char* c = e->d_name; *c; ++c) hash = hash * 131 + (unsigned char)*c;
    hash = hash * 31 + (uint64_t)st.st_size + (uint64_t)st.st_ino;
  }
  closedir(d);
  return hash;
}

static uint64_t big_blocks(int round) {
  uint64_t sum = 0;
  for (int i = 0; i < 50; ++i) {
    size_t size = (size_t)(256 + (i * 7 + round) % 64) << 10;  // 256 KiB and up: mmapped
    unsigned char* p = malloc(size);
    if (!p) return 0;
    memset(p, i + round, size);
    sum += (uintptr_t)p + p[size - 1];
    free(p);
  }
  return sum;
}

static void rounds(const char* who, const char* dir, int n) {
  for (int round = 0; round < n; ++round) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s-%d", dir, who, round);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || write(fd, path, strlen(path) * (size_t)(round + 1) % 4000) < 0) exit(3);
    close(fd);
    int pipefd[2], queued = -1;
    if (pipe(pipefd) != 0 || write(pipefd[1], "xyz", 3) != 3) exit(4);
    ioctl(pipefd[0], FIONREAD, &queued);
    // Polls that do not wait: what is ready right now.
    struct pollfd pfd[2] = {{pipefd[0], POLLIN, 0}, {pipefd[1], POLLOUT, 0}};
    int ready = poll(pfd, 2, 0);
    int ep = epoll_create1(0);
    struct epoll_event ev = {EPOLLIN, {.u64 = 0x1234500000000000ull + (uint64_t)round}}, got[4];
    epoll_ctl(ep, EPOLL_CTL_ADD, pipefd[0], &ev);
    int events = epoll_wait(ep, got, 4, 0);
    queued += ready * 100 + pfd[0].revents * 1000 + events * 100000 +
              (events > 0 && got[0].data.u64 == ev.data.u64) * 1000000;
    close(ep);
    close(pipefd[0]);
    close(pipefd[1]);
    // A disposition query, as interpreters make for every signal.
    struct sigaction now;
    queued += (sigaction(SIGUSR1 + round % 2, NULL, &now) == 0 && now.sa_handler == SIG_DFL) * 10000000;
    printf("%s %d dir %016llx blocks %016llx ready %d tty %d\n", who, round,
           (unsigned long long)list_dir(dir), (unsigned long long)big_blocks(round), queued,
           isatty(0) + isatty(1) * 2);
  }
}

int main(void) {
  // A fixed threshold: glibc would otherwise raise it after the first free
  // and serve the rest from the heap.
  mallopt(M_MMAP_THRESHOLD, 128 << 10);
  char dir[] = "/tmp/rrx-libc-internal-XXXXXX";
  if (!mkdtemp(dir)) return 1;
  rounds("parent", dir, 20);
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    rounds("child", dir, 20);
    fflush(stdout);
    _exit(0);
  }
  int status;
  waitpid(pid, &status, 0);
  DIR* d = opendir(dir);
  struct dirent* e;
  while (d && (e = readdir(d)) != NULL) {
    if (e->d_name[0] != '.') unlinkat(dirfd(d), e->d_name, 0);
  }
  if (d) closedir(d);
  rmdir(dir);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}
