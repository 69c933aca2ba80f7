// sockets: (1) a child passes a pipe's read end to the parent over a unix
// socketpair with SCM_RIGHTS (sendmsg/recvmsg); (2) a unix stream server and
// a forked client on a path in a temp dir; (3) a loopback TCP server on
// 127.0.0.1 port 0 (getsockname) and a forked client. Only the parent prints.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

static int wait_code(pid_t pid) {
  int status;
  if (waitpid(pid, &status, 0) != pid) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 200 + WTERMSIG(status);
}

static ssize_t read_all(int fd, char* buf, size_t cap) {
  size_t len = 0;
  ssize_t n;
  while (len < cap - 1 && (n = read(fd, buf + len, cap - 1 - len)) > 0) len += n;
  buf[len] = 0;
  return (ssize_t)len;
}

// Client side of (2) and (3): send `msg`, expect "ack:" + msg back.
static int client(int fd, const struct sockaddr* addr, socklen_t len, const char* msg) {
  if (connect(fd, addr, len) != 0) return 10;
  if (write(fd, msg, strlen(msg)) != (ssize_t)strlen(msg)) return 11;
  shutdown(fd, SHUT_WR);
  char buf[128], want[128];
  read_all(fd, buf, sizeof buf);
  snprintf(want, sizeof want, "ack:%s", msg);
  return strcmp(buf, want) == 0 ? 0 : 12;
}

// Server side: accept one connection, read until EOF, reply "ack:" + data.
static void serve_one(int lfd, const char* what) {
  int c = accept(lfd, NULL, NULL);
  if (c < 0) { perror("accept"); exit(1); }
  char buf[128], reply[160];
  read_all(c, buf, sizeof buf);
  printf("%s server got: %s\n", what, buf);
  snprintf(reply, sizeof reply, "ack:%s", buf);
  if (write(c, reply, strlen(reply)) < 0) exit(1);
  close(c);
}

static void pass_fd(void) {
  int sp[2];
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, sp) != 0) exit(1);
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    int p[2];
    if (pipe(p) != 0) _exit(1);
    const char text[] = "text read through a passed fd";
    if (write(p[1], text, sizeof text - 1) < 0) _exit(2);
    close(p[1]);
    char data[] = "here is an fd";
    struct iovec iov = {.iov_base = data, .iov_len = sizeof data - 1};
    union { struct cmsghdr h; char buf[CMSG_SPACE(sizeof(int))]; } u;
    memset(&u, 0, sizeof u);
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1,
                        .msg_control = u.buf, .msg_controllen = sizeof u.buf};
    struct cmsghdr* cm = CMSG_FIRSTHDR(&mh);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cm), &p[0], sizeof(int));
    _exit(sendmsg(sp[1], &mh, 0) < 0 ? 3 : 0);
  }
  close(sp[1]);
  char data[64] = {0};
  struct iovec iov = {.iov_base = data, .iov_len = sizeof data - 1};
  union { struct cmsghdr h; char buf[CMSG_SPACE(sizeof(int))]; } u;
  struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1,
                      .msg_control = u.buf, .msg_controllen = sizeof u.buf};
  ssize_t n = recvmsg(sp[0], &mh, 0);
  struct cmsghdr* cm = CMSG_FIRSTHDR(&mh);
  int fd = -1;
  if (cm && cm->cmsg_type == SCM_RIGHTS) memcpy(&fd, CMSG_DATA(cm), sizeof fd);
  printf("recvmsg: %zd bytes \"%s\", got fd: %s (fd %d)\n", n, data,
         fd >= 0 ? "yes" : "no", fd);
  char buf[128];
  read_all(fd, buf, sizeof buf);
  printf("read from passed fd: %s\n", buf);
  close(fd);
  close(sp[0]);
  printf("fd-passing child exited %d\n", wait_code(pid));
}

static void unix_stream(void) {
  const char* tmp = getenv("TMPDIR");
  char dir[96];  // sun_path holds only 108 bytes
  if (!tmp || !*tmp || strlen(tmp) > 60) tmp = "/tmp";
  snprintf(dir, sizeof dir, "%s/rrx-sock-XXXXXX", tmp);
  if (!mkdtemp(dir)) exit(1);
  struct sockaddr_un sun = {.sun_family = AF_UNIX};
  memcpy(sun.sun_path, dir, strlen(dir));
  memcpy(sun.sun_path + strlen(dir), "/s", 3);
  int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (bind(lfd, (struct sockaddr*)&sun, sizeof sun) != 0 || listen(lfd, 4) != 0) {
    perror("unix bind/listen");
    exit(1);
  }
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    _exit(client(fd, (struct sockaddr*)&sun, sizeof sun, "hello over a unix socket"));
  }
  serve_one(lfd, "unix");
  printf("unix client exited %d\n", wait_code(pid));
  close(lfd);
  unlink(sun.sun_path);
  rmdir(dir);
}

static void tcp(void) {
  int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = 0};
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(lfd, (struct sockaddr*)&sin, sizeof sin) != 0 || listen(lfd, 4) != 0) {
    perror("tcp bind/listen");
    exit(1);
  }
  socklen_t len = sizeof sin;
  getsockname(lfd, (struct sockaddr*)&sin, &len);
  printf("tcp listening on %s port %u\n", inet_ntoa(sin.sin_addr), ntohs(sin.sin_port));
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    _exit(client(fd, (struct sockaddr*)&sin, sizeof sin, "hello over tcp"));
  }
  serve_one(lfd, "tcp");
  printf("tcp client exited %d\n", wait_code(pid));
  close(lfd);
}

int main(void) {
  pass_fd();
  unix_stream();
  tcp();
  return 0;
}
