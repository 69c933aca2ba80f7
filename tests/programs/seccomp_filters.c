// seccomp_filters: the program's own seccomp filters give their verdicts
// under recording and replay: getpid fails with EPERM (seccomp(2)), uname
// raises SIGSYS (RET_TRAP), a second filter stacked with prctl makes
// getppid fail with EACCES; a thread started afterwards and a child that
// inherits the filters work; a child with a deny-by-default allow list
// runs and exits; one that makes a syscall its filter kills dies by SIGSYS.
// Before any of that the process has no seccomp mode (rrx's own filter is
// not the program's), and a filter it cannot read fails with EFAULT.
#define _GNU_SOURCE
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#define LOAD_NR BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr))
#define ON(nr, action) \
  BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (nr), 0, 1), BPF_STMT(BPF_RET | BPF_K, (action))
#define ALLOW(nr) ON(nr, SECCOMP_RET_ALLOW)

static int install(struct sock_filter* code, unsigned short len, int with_prctl) {
  struct sock_fprog prog = {len, code};
  return with_prctl ? prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0)
                    : (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog);
}

static void on_sigsys(int sig, siginfo_t* info, void* ctx) {
  (void)sig, (void)ctx;
  char line[80];
  int n = snprintf(line, sizeof line, "SIGSYS: syscall %d, errno field %d\n", info->si_syscall,
                   info->si_errno);
  write(1, line, n);
}

static void* thread_main(void* arg) {
  (void)arg;
  printf("thread: getpid %ld errno %d\n", syscall(SYS_getpid), errno);
  return NULL;
}

static void report_child(const char* what, pid_t pid) {
  int status;
  waitpid(pid, &status, 0);
  if (WIFSIGNALED(status)) printf("%s: killed by signal %d\n", what, WTERMSIG(status));
  else printf("%s: exit %d\n", what, WEXITSTATUS(status));
}

int main(void) {
  struct sigaction sa = {.sa_sigaction = on_sigsys, .sa_flags = SA_SIGINFO};
  sigaction(SIGSYS, &sa, NULL);
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) perror("no_new_privs");
  printf("seccomp mode at start: %d\n", prctl(PR_GET_SECCOMP, 0, 0, 0, 0));
  int null_filter = (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, NULL);
  printf("seccomp(NULL): %d (%s)\n", null_filter,
         null_filter < 0 ? strerrorname_np(errno) : "no error");

  struct sock_filter first[] = {
      LOAD_NR,
      ON(SYS_getpid, SECCOMP_RET_ERRNO | EPERM),
      ON(SYS_uname, SECCOMP_RET_TRAP | 42),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  printf("seccomp(): %d\n", install(first, sizeof first / sizeof first[0], 0));
  struct sock_filter second[] = {
      LOAD_NR,
      ON(SYS_getppid, SECCOMP_RET_ERRNO | EACCES),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  printf("prctl(): %d\n", install(second, sizeof second / sizeof second[0], 1));
  fflush(stdout);

  errno = 0;
  long r = syscall(SYS_getpid);
  printf("getpid %ld errno %d\n", r, errno);
  errno = 0;
  r = syscall(SYS_getppid);
  printf("getppid %ld errno %d\n", r, errno);
  struct utsname u;
  errno = 0;
  r = syscall(SYS_uname, &u);
  printf("uname %ld errno %d\n", r, errno);
  fflush(stdout);

  pthread_t thread;
  pthread_create(&thread, NULL, thread_main, NULL);
  pthread_join(thread, NULL);
  fflush(stdout);

  pid_t child = fork();
  if (child == 0) {
    errno = 0;
    r = syscall(SYS_getpid);
    printf("child inherits: getpid %ld errno %d\n", r, errno);
    fflush(stdout);
    _exit(0);
  }
  report_child("inheriting child", child);
  fflush(stdout);

  child = fork();
  if (child == 0) {
    struct sock_filter allow_list[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
        LOAD_NR,
        ALLOW(SYS_write), ALLOW(SYS_exit_group), ALLOW(SYS_exit), ALLOW(SYS_rt_sigreturn),
        ON(SYS_getuid, SECCOMP_RET_ERRNO | EPERM),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
    };
    install(allow_list, sizeof allow_list / sizeof allow_list[0], 0);
    static const char ok[] = "allow-listed child runs\n";
    syscall(SYS_write, 1, ok, sizeof ok - 1);
    syscall(SYS_exit_group, syscall(SYS_getuid) == -1 && errno == EPERM ? 3 : 4);
  }
  report_child("allow-listed child", child);

  child = fork();
  if (child == 0) {
    struct sock_filter kill_yield[] = {
        LOAD_NR,
        ON(SYS_sched_yield, SECCOMP_RET_KILL_PROCESS),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    install(kill_yield, sizeof kill_yield / sizeof kill_yield[0], 0);
    syscall(SYS_sched_yield);
    _exit(0);
  }
  report_child("killed child", child);
  return 0;
}
