// ptrace_events: exec and exit stops. A traced child (PTRACE_TRACEME)
// whose parent set PTRACE_O_TRACEEXEC | PTRACE_O_TRACEEXIT execs this
// program again (which exits with 3): the parent sees the exec event stop
// (GETEVENTMSG: the child's pid), then the exit event stop (GETEVENTMSG:
// the exit status), then the exit. A second child, traced without options,
// gets the SIGTRAP the kernel sends a tracee after a successful execve.
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

static int ok = 1;

static int next_stop(pid_t pid, const char* what) {
  int status = 0;
  if (waitpid(pid, &status, 0) != pid) ok = 0;
  printf("%s: status 0x%x\n", what, status);
  return status;
}

static pid_t start_child(void) {
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    ptrace(PTRACE_TRACEME, 0, NULL, NULL);
    raise(SIGSTOP);
    execl("/proc/self/exe", "ptrace_events", "exit", (char*)NULL);
    _exit(1);
  }
  int status = next_stop(pid, "first stop");
  ok &= WIFSTOPPED(status) && WSTOPSIG(status) == SIGSTOP;
  return pid;
}

int main(int argc, char** argv) {
  if (argc > 1 && strcmp(argv[1], "exit") == 0) return 3;

  pid_t pid = start_child();
  ok &= ptrace(PTRACE_SETOPTIONS, pid, NULL, (void*)(PTRACE_O_TRACEEXEC | PTRACE_O_TRACEEXIT)) == 0;
  ptrace(PTRACE_CONT, pid, NULL, NULL);
  int status = next_stop(pid, "exec stop");
  unsigned long msg = 0;
  ptrace(PTRACE_GETEVENTMSG, pid, NULL, &msg);
  printf("exec event: %s, message is the child: %s\n",
         status >> 8 == (SIGTRAP | (PTRACE_EVENT_EXEC << 8)) ? "yes" : "no",
         msg == (unsigned long)pid ? "yes" : "no");
  ok &= status >> 8 == (SIGTRAP | (PTRACE_EVENT_EXEC << 8)) && msg == (unsigned long)pid;
  ptrace(PTRACE_CONT, pid, NULL, NULL);
  status = next_stop(pid, "exit stop");
  ptrace(PTRACE_GETEVENTMSG, pid, NULL, &msg);
  printf("exit event: %s, message 0x%lx\n",
         status >> 8 == (SIGTRAP | (PTRACE_EVENT_EXIT << 8)) ? "yes" : "no", msg);
  ok &= status >> 8 == (SIGTRAP | (PTRACE_EVENT_EXIT << 8)) && msg == 3 << 8;
  ptrace(PTRACE_CONT, pid, NULL, NULL);
  status = next_stop(pid, "end");
  ok &= WIFEXITED(status) && WEXITSTATUS(status) == 3;

  pid = start_child();
  ptrace(PTRACE_CONT, pid, NULL, NULL);
  status = next_stop(pid, "after exec");
  ok &= WIFSTOPPED(status) && WSTOPSIG(status) == SIGTRAP;
  ptrace(PTRACE_CONT, pid, NULL, NULL);
  status = next_stop(pid, "end");
  ok &= WIFEXITED(status) && WEXITSTATUS(status) == 3;
  printf("all as expected: %s\n", ok ? "yes" : "no");
  return !ok;
}
