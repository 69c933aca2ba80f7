/* cpu_loop: N iterations of a 64-bit LCG (default 2e8), then one write(2).
 * No syscalls between main and the final write, and no libc string or
 * stdio code at all, so gdb's "record full" can record it end to end. */
#include <unistd.h>

static long parse(const char *s)
{
    long n = 0;
    while (*s >= '0' && *s <= '9')
        n = n * 10 + (*s++ - '0');
    return n;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? parse(argv[1]) : 200000000;
    unsigned long x = 1;
    for (long i = 0; i < n; i++)
        x = x * 6364136223846793005UL + (unsigned long)i;

    char buf[24];
    int p = sizeof buf;
    buf[--p] = '\n';
    do {
        buf[--p] = (char)('0' + x % 10);
        x /= 10;
    } while (x);
    return write(1, buf + p, sizeof buf - p) < 0;
}
