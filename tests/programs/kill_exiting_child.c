// kill_exiting_child: children that exit at once are SIGKILLed by their
// parent meanwhile. Recorded, a child's exit_group may be held at its
// entry when the SIGKILL comes: it then ends killed, not with its own
// status, and replay must end it the same way. The parent prints how each
// child ended (that differs from run to run; replay repeats the recording).
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void) {
  for (int i = 0; i < 8; i++) {
    pid_t child = fork();
    if (child == 0) _exit(7);
    kill(child, SIGKILL);
    int status;
    if (waitpid(child, &status, 0) != child) return 1;
    printf("child %d %s\n", i, WIFSIGNALED(status) ? "killed" : "exited");
  }
  return 0;
}
