// forkexec_sh: fork + execl of /bin/sh running a command that prints and
// exits 3; the parent waits and prints the status. Checks exec of another
// program (a new image, dynamic loader, libc) inside a recorded child.
#define _GNU_SOURCE
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void) {
  printf("parent before fork\n");
  fflush(stdout);
  pid_t pid = fork();
  if (pid < 0) { perror("fork"); return 1; }
  if (pid == 0) {
    execl("/bin/sh", "sh", "-c", "echo from sh; echo to stderr from sh >&2; exit 3",
          (char*)NULL);
    _exit(127);
  }
  int status;
  if (waitpid(pid, &status, 0) != pid) { perror("waitpid"); return 1; }
  printf("child exited=%d status=%d\n", WIFEXITED(status), WEXITSTATUS(status));
  return 0;
}
