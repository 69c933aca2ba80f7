/* spin-off debuggee (tests/e2e/spin_off.py): reads its input file after a
   first uname(), writes what it read to its output file after a second,
   says how much, and exits 3. uname is never buffered, so each is an event
   a spin-off can be placed at: a copy spun off at the first one reads the
   input as it is then, and writes the output itself.
   usage: spin_files INPUT OUTPUT */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <sys/utsname.h>
#include <unistd.h>

int main(int argc, char** argv) {
  if (argc != 3) return 2;
  struct utsname u;
  int in = open(argv[1], O_RDONLY);
  if (in < 0) return 1;
  char buf[256];
  ssize_t skipped = read(in, buf, 2); /* the offset a copy must keep */
  uname(&u);                          /* spin off here */
  ssize_t n = read(in, buf, sizeof buf);
  if (skipped != 2 || n < 0) return 1;
  uname(&u);
  int out = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (out < 0 || write(out, buf, (size_t)n) != n || close(out) != 0) return 1;
  printf("copied %zd bytes\n", n);
  return 3;
}
