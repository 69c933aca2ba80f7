// The program the lldb tests debug. It makes no syscall but its exit, so
// the stand-in server can replay it by single-stepping; the real backend
// records and replays it like any other program. Tests find places in it by
// the "// @name" markers, so keep them when editing.
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
