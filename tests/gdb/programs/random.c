/* gdb end-to-end debuggee: reads 8 bytes from getrandom and 8 bytes from
   /dev/urandom and prints them in gdb's `p/x` format for an unsigned char
   array, so a replay's `p/x` must show exactly the recorded bytes. */
#include <fcntl.h>
#include <stdio.h>
#include <sys/random.h>
#include <unistd.h>

unsigned char from_getrandom[8];
unsigned char from_urandom[8];

static void show(const char* name, const unsigned char* b, int n) {
  printf("%s = {", name);
  for (int i = 0; i < n; i++) printf("%s0x%x", i ? ", " : "", b[i]);
  printf("}\n");
}

int main(void) {
  if (getrandom(from_getrandom, sizeof from_getrandom, 0) != sizeof from_getrandom) return 1;
  int fd = open("/dev/urandom", O_RDONLY);
  if (fd < 0 || read(fd, from_urandom, sizeof from_urandom) != sizeof from_urandom) return 1;
  close(fd);
  show("getrandom", from_getrandom, 8);
  show("urandom", from_urandom, 8);
  fflush(stdout); /* LINE_PRINTED */
  return 0;
}
