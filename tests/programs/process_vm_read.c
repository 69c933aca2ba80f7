// process_vm_read: process_vm_readv of a forked child's memory (a buffer
// the child fills after the fork, so only reading the child shows it) and
// of the process's own memory, scattered over two local iovecs; then
// process_vm_writev into its own memory (gathered from two iovecs) and
// into a process that is gone (ESRCH).
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

static char shared_name[64];

int main(void) {
  int ready[2];
  if (pipe(ready) != 0) return 1;
  pid_t child = fork();
  if (child == 0) {
    snprintf(shared_name, sizeof shared_name, "child %d was here", (int)getpid());
    if (write(ready[1], "r", 1) != 1) _exit(1);
    pause();
    _exit(0);
  }
  char c;
  if (read(ready[0], &c, 1) != 1) return 1;
  char first[8] = {0}, rest[56] = {0};
  struct iovec local[2] = {{first, sizeof first - 1}, {rest, sizeof rest - 1}};
  struct iovec remote = {shared_name, sizeof shared_name};
  ssize_t n = process_vm_readv(child, local, 2, &remote, 1, 0);
  printf("read %zd bytes of the child: '%s' + '%s' (mine: '%s')\n", n, first, rest, shared_name);
  int ok = n == (ssize_t)(sizeof first - 1 + sizeof rest - 1);
  snprintf(shared_name, sizeof shared_name, "parent");
  struct iovec self = {shared_name, 7}, into = {first, 7};
  n = process_vm_readv(getpid(), &into, 1, &self, 1, 0);
  printf("read %zd bytes of myself: '%s'\n", n, first);
  ok = ok && n == 7;
  kill(child, SIGKILL);
  waitpid(child, NULL, 0);
  char target[16] = {0};
  struct iovec pieces[2] = {{"writ", 4}, {"ten!", 5}}, to = {target, 9};
  n = process_vm_writev(getpid(), pieces, 2, &to, 1, 0);
  printf("wrote %zd bytes into myself: '%s'\n", n, target);
  ok = ok && n == 9;
  n = process_vm_writev(child, pieces, 2, &to, 1, 0);
  printf("into the reaped child: %zd (%s)\n", n, n < 0 ? strerrorname_np(errno) : "no error");
  return ok ? 0 : 1;  // it works natively: so must it recorded
}
