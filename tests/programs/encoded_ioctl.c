// encoded_ioctl: an ioctl rrx's table does not name but whose number says
// what it does (_IOR: it reads FSLABEL_MAX bytes into the program): the
// file system label of the directory the program runs in (most file
// systems answer, some say ENOTTY). What it got is printed.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

int main(void) {
  int fd = open(".", O_RDONLY | O_DIRECTORY);
  if (fd < 0) return 1;
  char label[FSLABEL_MAX];
  memset(label, 'x', sizeof label);
  int r = ioctl(fd, FS_IOC_GETFSLABEL, label);
  printf("FS_IOC_GETFSLABEL: %d (%s), label '%.*s'\n", r, r == 0 ? "ok" : strerror(errno),
         r == 0 ? (int)strnlen(label, sizeof label) : 0, label);
  close(fd);
  return 0;
}
