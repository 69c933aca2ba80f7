// pipes: a child writes three messages into a pipe, each only after the
// parent acknowledged the previous one; the parent waits for each with a
// different multiplexer (poll, epoll, select) and finally sees EOF. Ready
// counts and revents are printed.
#define _GNU_SOURCE
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/wait.h>
#include <unistd.h>

static void readmsg(int fd, const char* how) {
  char buf[64];
  ssize_t n = read(fd, buf, sizeof buf - 1);
  buf[n > 0 ? n : 0] = 0;
  printf("%s: read %zd bytes: %s\n", how, n, buf);
}

int main(void) {
  int data[2], ack[2];
  if (pipe(data) != 0 || pipe(ack) != 0) return 1;
  fflush(stdout);
  pid_t pid = fork();
  if (pid < 0) return 1;
  if (pid == 0) {
    close(data[0]);
    close(ack[1]);
    static const char* msgs[] = {"first (for poll)", "second (for epoll)",
                                 "third (for select)"};
    for (int i = 0; i < 3; i++) {
      usleep(20000);  // make the parent really block
      if (write(data[1], msgs[i], strlen(msgs[i])) < 0) _exit(1);
      char c;
      if (read(ack[0], &c, 1) != 1) _exit(2);
    }
    _exit(0);
  }
  close(data[1]);
  close(ack[0]);

  struct pollfd pfd = {.fd = data[0], .events = POLLIN};
  int n = poll(&pfd, 1, -1);
  printf("poll: ready=%d revents=%#x\n", n, pfd.revents);
  readmsg(data[0], "poll");
  if (write(ack[1], "a", 1) != 1) return 1;

  int ep = epoll_create1(EPOLL_CLOEXEC);
  struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 0x1234};
  if (epoll_ctl(ep, EPOLL_CTL_ADD, data[0], &ev) != 0) return 1;
  struct epoll_event out[4];
  memset(out, 0, sizeof out);
  n = epoll_wait(ep, out, 4, -1);
  printf("epoll_wait: ready=%d events=%#x data=%#llx\n", n, out[0].events,
         (unsigned long long)out[0].data.u64);
  readmsg(data[0], "epoll");
  close(ep);
  if (write(ack[1], "a", 1) != 1) return 1;

  fd_set rfds;
  FD_ZERO(&rfds);
  FD_SET(data[0], &rfds);
  n = select(data[0] + 1, &rfds, NULL, NULL, NULL);
  printf("select: ready=%d isset=%d\n", n, FD_ISSET(data[0], &rfds) ? 1 : 0);
  readmsg(data[0], "select");
  if (write(ack[1], "a", 1) != 1) return 1;

  int status;
  waitpid(pid, &status, 0);
  pfd.revents = 0;
  n = poll(&pfd, 1, -1);
  printf("after child exit: poll ready=%d revents=%#x\n", n, pfd.revents);
  readmsg(data[0], "eof");
  printf("child status %d\n", WEXITSTATUS(status));
  return 0;
}
