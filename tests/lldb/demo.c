// A static program with no C library, entered at its own _start: the
// lldb.real.static_start case records it and checks that lldb stops at its
// ELF entry instead of taking that stop for its entry breakpoint.
static volatile int counter;

__attribute__((noinline)) static int add(int a, int b) {
  int sum = a + b;  // @add_body
  counter++;
  return sum;       // @add_return
}  // @add_end

__attribute__((noinline)) static int twice(int x) {
  int y = add(x, x);  // @twice_call
  return y;  // @twice_return
}  // @twice_end

int main(void) {
  int total = 0;
  for (int i = 0; i < 3; i++) {  // @loop_head
    total = add(total, i);  // @loop_call
  }
  total = twice(total);  // @twice_site
  counter += total;      // @after_twice
  return total & 0x7f;
}

// No C library: enter main directly and exit with its result.
__asm__(
    ".globl _start\n"
    "_start:\n"
    "  xor %ebp, %ebp\n"
    "  call main\n"
    "  mov %eax, %edi\n"
    "  mov $60, %eax\n"
    "  syscall\n");
