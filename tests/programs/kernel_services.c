// kernel_services: calls rrx used to deny with ENOSYS although the kernel
// serves them: a software perf counter (enabled, read, its id), a key in
// the process keyring (described and read back), a disk-quota query, the
// new mount API (a tmpfs made with fsopen/fsconfig/fsmount; root only),
// and a semaphore set read whole with semctl GETALL. What each returns or
// fails with is printed; counter values are only checked for being there.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/keyctl.h>
#include <linux/mount.h>
#include <linux/perf_event.h>
#include <linux/quota.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/sem.h>
#include <sys/syscall.h>
#include <unistd.h>

static const char* outcome(long r) { return r < 0 ? strerrorname_np(errno) : "ok"; }

static void perf_counter(void) {
  struct perf_event_attr attr;
  memset(&attr, 0, sizeof attr);
  attr.size = sizeof attr;
  attr.type = PERF_TYPE_SOFTWARE;
  attr.config = PERF_COUNT_SW_TASK_CLOCK;
  attr.disabled = 1;
  int fd = (int)syscall(SYS_perf_event_open, &attr, 0, -1, -1, 0);
  printf("perf_event_open: %s\n", outcome(fd));
  if (fd < 0) return;
  ioctl(fd, PERF_EVENT_IOC_RESET, 0);
  ioctl(fd, PERF_EVENT_IOC_ENABLE, 0);
  volatile uint64_t spin = 0;
  for (int i = 0; i < 1000000; i++) spin += i;
  ioctl(fd, PERF_EVENT_IOC_DISABLE, 0);
  uint64_t count = 0, id = 0;
  long n = read(fd, &count, sizeof count);
  printf("read %ld bytes, task clock %s\n", n, count > 0 ? "ran" : "did not run");
  printf("id ioctl: %s, id %s\n", outcome(ioctl(fd, PERF_EVENT_IOC_ID, &id)), id ? "set" : "0");
  printf("counter value (recorded, replayed): %llu\n", (unsigned long long)count);
}

static void keyring(void) {
  long key = syscall(SYS_add_key, "user", "rrx-test-key", "secret payload", 14,
                     KEY_SPEC_PROCESS_KEYRING);
  printf("add_key: %s\n", outcome(key));
  if (key < 0) return;
  char text[128] = {0};
  long n = syscall(SYS_keyctl, KEYCTL_READ, key, text, sizeof text - 1);
  printf("keyctl read: %ld bytes \"%s\"\n", n, text);
  memset(text, 0, sizeof text);
  n = syscall(SYS_keyctl, KEYCTL_DESCRIBE, key, text, sizeof text - 1);
  const char* name = strrchr(text, ';');
  printf("keyctl describe: %s, name %s\n", outcome(n), name ? name + 1 : "?");
}

static void quota(void) {
  uint32_t format = 0;
  long r = syscall(SYS_quotactl, QCMD(Q_GETFMT, USRQUOTA), "/dev/root", 0, &format);
  printf("quotactl getfmt: %s\n", outcome(r));
}

static void mount_api(void) {
  int fs = (int)syscall(SYS_fsopen, "tmpfs", FSOPEN_CLOEXEC);
  printf("fsopen: %s\n", outcome(fs));
  if (fs < 0) return;
  printf("fsconfig create: %s\n",
         outcome(syscall(SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0)));
  int mnt = (int)syscall(SYS_fsmount, fs, FSMOUNT_CLOEXEC, 0);
  printf("fsmount: %s\n", outcome(mnt));
  if (mnt >= 0) {
    int file = openat(mnt, "made-here", O_CREAT | O_RDWR, 0600);
    printf("file in the new tmpfs: %s, wrote %ld\n", outcome(file), (long)write(file, "x", 1));
  }
}

static void semaphores(void) {
  int set = semget(IPC_PRIVATE, 3, IPC_CREAT | 0600);
  if (set < 0) {
    printf("semget: %s\n", outcome(set));
    return;
  }
  unsigned short values[3] = {4, 5, 6}, back[3] = {0, 0, 0};
  semctl(set, 0, SETALL, values);
  long r = semctl(set, 0, GETALL, back);
  printf("semctl getall: %s, %u %u %u\n", outcome(r), back[0], back[1], back[2]);
  semctl(set, 0, IPC_RMID);
}

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  perf_counter();
  keyring();
  quota();
  mount_api();
  semaphores();
  return 0;
}
