/* dispositions: prints which of SIGINT, SIGQUIT, SIGHUP and SIGTERM the
   program started with ignored (as the shell that ran `rrx record` left
   them), then waits for a signal in pause() if asked to ("wait"): Ctrl-C
   must then end it as it would without rrx. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char** argv) {
  static const int sigs[] = {SIGINT, SIGQUIT, SIGHUP, SIGTERM};
  for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; ++i) {
    struct sigaction old;
    sigaction(sigs[i], NULL, &old);
    printf("SIG%s %s\n", sigabbrev_np(sigs[i]), old.sa_handler == SIG_IGN ? "ignored" : "default");
  }
  fflush(stdout);
  if (argc > 1 && strcmp(argv[1], "wait") == 0) {
    for (;;) pause();
  }
  return 0;
}
