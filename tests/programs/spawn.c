// spawn: posix_spawn (glibc: clone(CLONE_VM|CLONE_VFORK) + exec) of
// /bin/echo, once writing to our stdout and once with its stdout redirected
// into a pipe by file actions; the parent reads the pipe and waits.
#define _GNU_SOURCE
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

static int wait_code(pid_t pid) {
  int status;
  if (waitpid(pid, &status, 0) != pid) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 200 + WTERMSIG(status);
}

int main(void) {
  printf("spawning /bin/echo\n");
  fflush(stdout);
  pid_t pid;
  char* args1[] = {"echo", "hello", "from", "echo", NULL};
  int rc = posix_spawn(&pid, "/bin/echo", NULL, NULL, args1, environ);
  if (rc != 0) { fprintf(stderr, "posix_spawn: %s\n", strerror(rc)); return 1; }
  printf("echo exited %d\n", wait_code(pid));

  int p[2];
  if (pipe(p) != 0) return 1;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, p[1], 1);
  posix_spawn_file_actions_addclose(&fa, p[0]);
  posix_spawn_file_actions_addclose(&fa, p[1]);
  char* args2[] = {"echo", "into", "a", "pipe", NULL};
  rc = posix_spawnp(&pid, "echo", &fa, NULL, args2, environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) { fprintf(stderr, "posix_spawnp: %s\n", strerror(rc)); return 1; }
  close(p[1]);
  char buf[256];
  size_t len = 0;
  ssize_t n;
  while ((n = read(p[0], buf + len, sizeof buf - 1 - len)) > 0) len += n;
  buf[len] = 0;
  close(p[0]);
  printf("read from pipe: %s", buf);
  printf("echo exited %d\n", wait_code(pid));
  return 0;
}
