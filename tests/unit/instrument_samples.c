/* Functions the instrument test patches in place and runs (see
 * test_instrument.cc). All live in their own section so the test can find
 * them (__start_/__stop_rrx_samples) and patch nothing else. Compiled -O2:
 * their branches are what a compiler makes of ordinary code, plus two asm
 * loops for the cases the stub forms must get right. */
#include <stdint.h>

#include "instrument_samples.h"

#define SAMPLE __attribute__((section("rrx_samples"), noinline, used))

/* rel8 back edge, data-dependent if. */
SAMPLE long sample_sum(const int *a, int n) {
  long s = 0;
  for (int i = 0; i < n; i++) {
    if (a[i] > 3)
      s += a[i] * 3;
    else
      s -= a[i] ^ 5;
  }
  return s;
}

SAMPLE int sample_collatz(uint64_t x) {
  int steps = 0;
  while (x != 1) {
    if (x & 1)
      x = 3 * x + 1;
    else
      x >>= 1;
    steps++;
  }
  return steps;
}

/* A switch dense enough for a jump table. */
SAMPLE int sample_switch(int x) {
  int r = 0;
  for (int i = 0; i < x; i++) {
    switch ((i * 7 + x) % 13) {
      case 0: r += 11; break;
      case 1: r ^= 0x55; break;
      case 2: r -= 3; break;
      case 3: r *= 3; break;
      case 4: r += i; break;
      case 5: r = r / 2 + 1; break;
      case 6: r -= i * 2; break;
      case 7: r += 1000; break;
      case 8: r ^= i << 3; break;
      case 9: r = ~r; break;
      case 10: r += 77; break;
      case 11: r >>= 1; break;
      default: r += 5; break;
    }
  }
  return r;
}

/* Flags live across two jccs: cmp; jl; jg. */
SAMPLE long sample_compare(const long *a, const long *b, int n) {
  long lt = 0, gt = 0, eq = 0;
  for (int i = 0; i < n; i++) {
    long x = a[i], y = b[i];
    if (x < y)
      lt += x;
    else if (x > y)
      gt += y;
    else
      eq++;
  }
  return lt * 3 + gt * 5 + eq;
}

/* A long loop body, so that some jumps need rel32. */
SAMPLE uint64_t sample_long_body(uint64_t seed, int n) {
  uint64_t h = seed;
  for (int i = 0; i < n; i++) {
#define ROUND(k)                          \
  h ^= h >> (7 + k % 5);                  \
  h *= 0x9E3779B97F4A7C15ull + k;         \
  if (h & (1ull << (k % 61))) h += k * 13; \
  else h -= (h >> 3);
    ROUND(1) ROUND(2) ROUND(3) ROUND(4) ROUND(5) ROUND(6) ROUND(7) ROUND(8)
    ROUND(9) ROUND(10) ROUND(11) ROUND(12) ROUND(13) ROUND(14) ROUND(15)
    ROUND(16) ROUND(17) ROUND(18) ROUND(19) ROUND(20)
#undef ROUND
  }
  return h;
}

/* Carry live across `dec; jnz`: a stub that clobbered CF (form A's addq
 * before a dec) would compute a wrong sum. */
SAMPLE uint64_t sample_adc(const uint64_t *a, long n) {
  uint64_t sum = 0;
  if (n <= 0) return 0;
  __asm__ volatile(
      "clc\n\t"
      "1:\n\t"
      "adc (%[p]), %[s]\n\t"
      "lea 8(%[p]), %[p]\n\t"
      "dec %[n]\n\t"
      "jnz 1b\n\t"
      "adc $0, %[s]\n\t"
      : [s] "+r"(sum), [p] "+r"(a), [n] "+r"(n)
      :
      : "cc", "memory");
  return sum;
}

/* cmp; jl; jg in asm, so the shape does not depend on the compiler. */
SAMPLE long sample_three_way(long x, long y) {
  long r;
  __asm__ volatile(
      "cmp %[y], %[x]\n\t"
      "jl 1f\n\t"
      "jg 2f\n\t"
      "mov $0, %[r]\n\t"
      "jmp 3f\n\t"
      "1: mov $-1, %[r]\n\t"
      "jmp 3f\n\t"
      "2: mov $1, %[r]\n\t"
      "3:\n\t"
      : [r] "=r"(r)
      : [x] "r"(x), [y] "r"(y)
      : "cc");
  return r;
}

/* Flag-free stubs (form B): a rel8 jcc whose moved neighbour sets no
 * flags, and a rel32 jcc that stands alone. */
SAMPLE long sample_flag_free(long n) {
  long acc = 0, t;
  if (n <= 0) return 0;
  __asm__ volatile(
      "1:\n\t"
      "add %[n], %[acc]\n\t"
      "sub $1, %[n]\n\t"
      "mov %[n], %[t]\n\t"
      "jnz 1b\n\t"
      "mov $40, %[n]\n\t"
      "2:\n\t"
      "xor %[n], %[acc]\n\t"
      "dec %[n]\n\t"
      "lea 3(%[acc]), %[acc]\n\t"
      "%{disp32%} jnz 2b\n\t"
      : [acc] "+r"(acc), [n] "+r"(n), [t] "=&r"(t)
      :
      : "cc");
  return acc;
}

/* Rip-relative operands moved into stubs. */
static int counter_table[64];
SAMPLE long sample_riprel(int n) {
  long s = 0;
  for (int i = 0; i < n; i++) {
    counter_table[i & 63] += i;
    if (counter_table[(i * 5) & 63] > 40) s += counter_table[i & 63];
    else s -= 1;
  }
  return s;
}

SAMPLE void sample_run_all(struct sample_results *r) {
  static int ints[300];
  static long la[200], lb[200];
  static uint64_t words[64];
  for (int i = 0; i < 300; i++) ints[i] = (i * 37) % 11 - 2;
  for (int i = 0; i < 200; i++) {
    la[i] = (i * 13) % 7;
    lb[i] = (i * 5) % 7;
  }
  for (int i = 0; i < 64; i++) words[i] = ~0ull - (uint64_t)i * 3;
  for (int i = 0; i < 64; i++) counter_table[i] = 0;
  r->sum = sample_sum(ints, 300);
  r->collatz = sample_collatz(27) + sample_collatz(97);
  r->sw = sample_switch(150);
  r->cmp = sample_compare(la, lb, 200);
  r->longb = sample_long_body(12345, 40);
  r->adc = sample_adc(words, 64);
  r->three = sample_three_way(1, 2) * 100 + sample_three_way(5, 2) * 10 +
             sample_three_way(3, 3);
  r->riprel = sample_riprel(300);
  r->flag_free = sample_flag_free(300);
}
