// Pinning the tracer and its tracees to one CPU: a ptrace stop costs ~5 us
// when both sit on one CPU against ~100 us across CPUs, and untrapped cpuid
// answers differ between CPUs.
#pragma once

namespace rrx {

// Pins the calling process (and so every tracee it starts) to `cpu`, or to
// the CPU it is running on when cpu < 0. Returns the CPU, or -1 on failure.
int bind_to_cpu(int cpu);

}  // namespace rrx
