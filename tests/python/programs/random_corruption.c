// The tutorial's program (docs/python.md): adds 1000 deposits to a
// balance, but one iteration, chosen at random, writes through a stray
// index and corrupts it.
#include <stdio.h>
#include <sys/random.h>

struct account {
  long deposits[8];
  long balance;
};

struct account acct;
volatile int iteration;

static void deposit(int i, int slot) {
  acct.deposits[slot] = 10 * i;  // slot 8 is past the array: it lands on balance
  acct.balance += 1;
}

int main(void) {
  unsigned int r;
  if (getrandom(&r, sizeof r, 0) != sizeof r) return 1;
  int bad = 1 + (int)(r % 998);
  for (iteration = 1; iteration <= 1000; iteration++) {
    deposit(iteration, iteration == bad ? 8 : iteration % 8);
  }
  printf("balance %ld (expected 1000)\n", acct.balance);
  return 0;
}
