// sigtrap_handler_threads: a SIGTRAP handler survives the creation of
// threads (which start with every signal blocked, while rrx prepares them)
// and handles a raise(SIGTRAP). Exits 1 if the handler was lost.
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t trapped;

static void on_trap(int sig) {
  (void)sig;
  trapped = 1;
}

static void* idle(void* arg) { return arg; }

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  struct sigaction action;
  memset(&action, 0, sizeof action);
  action.sa_handler = on_trap;
  sigaction(SIGTRAP, &action, NULL);
  for (int i = 0; i < 3; i++) {
    pthread_t thread;
    pthread_create(&thread, NULL, idle, NULL);
    pthread_join(thread, NULL);
  }
  struct sigaction now;
  sigaction(SIGTRAP, NULL, &now);
  int ours = now.sa_handler == on_trap;
  printf("after 3 threads the SIGTRAP handler is %s\n", ours ? "ours" : "gone");
  raise(SIGTRAP);
  printf("raise(SIGTRAP) %s\n", trapped ? "handled" : "not handled");
  return ours && trapped ? 0 : 1;
}
