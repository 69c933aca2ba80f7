// masked_waits: calls that take a signal mask for their duration
// (pselect, ppoll, epoll_pwait, epoll_pwait2), interrupted by a timer's
// SIGALRM. First the race-free wait idiom: SIGALRM is blocked and each call
// unblocks it while it waits. Then SIGALRM is open all along and the calls
// block another signal. Replay must deliver the signal inside the call,
// under the call's mask, and restore the usual mask after the handler.
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#ifndef SYS_epoll_pwait2
#define SYS_epoll_pwait2 441
#endif

static volatile sig_atomic_t alarms;

static void on_alarm(int sig) {
  (void)sig;
  alarms++;
}

static void arm_timer(void) {
  struct itimerval once = {{0, 0}, {0, 20000}};  // 20 ms
  setitimer(ITIMER_REAL, &once, NULL);
}

static void report(const char* call, int result, int err) {
  sigset_t now;
  sigprocmask(SIG_BLOCK, NULL, &now);
  printf("%s: %d (%s), handler ran %d times, SIGALRM %s after\n", call, result,
         result < 0 ? strerrordesc_np(err) : "no error", (int)alarms,
         sigismember(&now, SIGALRM) ? "blocked" : "unblocked");
}

static void wait_in_each(int read_fd, int epoll_fd, const sigset_t* during) {
  struct timespec five_s = {5, 0};
  arm_timer();
  fd_set readable;
  FD_ZERO(&readable);
  FD_SET(read_fd, &readable);
  int r = pselect(read_fd + 1, &readable, NULL, NULL, &five_s, during);
  report("pselect", r, errno);

  arm_timer();
  struct pollfd poll_fd = {read_fd, POLLIN, 0};
  r = ppoll(&poll_fd, 1, &five_s, during);
  report("ppoll", r, errno);

  struct epoll_event event;
  arm_timer();
  r = epoll_pwait(epoll_fd, &event, 1, 5000, during);
  report("epoll_pwait", r, errno);

  arm_timer();
  r = (int)syscall(SYS_epoll_pwait2, epoll_fd, &event, 1, &five_s, during, 8);
  report("epoll_pwait2", r, errno);
}

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  struct sigaction action;
  memset(&action, 0, sizeof action);
  action.sa_handler = on_alarm;
  sigaction(SIGALRM, &action, NULL);
  sigset_t blocked, during;
  sigemptyset(&blocked);
  sigaddset(&blocked, SIGALRM);
  sigprocmask(SIG_BLOCK, &blocked, NULL);
  sigemptyset(&during);  // SIGALRM open while waiting

  int pipe_fds[2];
  if (pipe(pipe_fds) != 0) return 1;  // never written: only the signal wakes
  int epoll_fd = epoll_create1(0);
  struct epoll_event event = {EPOLLIN, {.fd = pipe_fds[0]}};
  epoll_ctl(epoll_fd, EPOLL_CTL_ADD, pipe_fds[0], &event);
  wait_in_each(pipe_fds[0], epoll_fd, &during);

  sigprocmask(SIG_UNBLOCK, &blocked, NULL);
  sigaddset(&during, SIGUSR1);
  printf("now with SIGALRM open and SIGUSR1 blocked while waiting\n");
  wait_in_each(pipe_fds[0], epoll_fd, &during);
  return 0;
}
