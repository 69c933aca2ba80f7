// exit_status: ends in a chosen way so the test can check that `rrx record`
// exits with the program's own status.
//   exit_status N       -> exit(N)
//   exit_status signal  -> dies by SIGTERM (record must exit 128+15 = 143)
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char** argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: exit_status N|signal\n");
    return 2;
  }
  if (strcmp(argv[1], "signal") == 0) {
    printf("dying by SIGTERM\n");
    fflush(stdout);
    signal(SIGTERM, SIG_DFL);
    raise(SIGTERM);
    return 99;  // not reached
  }
  int code = atoi(argv[1]);
  printf("exiting with %d\n", code);
  return code;
}
