// nonexistent_syscalls: syscall numbers no x86-64 kernel has (-1, private
// numbers such as 1008, numbers far past the table, negative ones) answer
// ENOSYS and do nothing; the program goes on. Each result is printed.
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void) {
  const long numbers[] = {-1, -100, 1008, 4096, 100000, 0x3fffffff, 0x7fffffff};
  for (size_t i = 0; i < sizeof numbers / sizeof numbers[0]; i++) {
    errno = 0;
    long r = syscall(numbers[i], 1, 2, 3);
    printf("syscall(%ld) = %ld, errno %s\n", numbers[i], r, strerror(errno));
  }
  printf("pid is positive: %d\n", getpid() > 0);
  return 0;
}
