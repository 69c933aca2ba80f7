#include <signal.h>
#include <string.h>
#include <sys/wait.h>

#include <cinttypes>
#include <cstdio>

#include "cli/commands.h"
#include "syscalls/buffered_records.h"
#include "syscalls/syscall_table.h"
#include "trace/trace_dir.h"
#include "trace/trace_reader.h"

namespace rrx {

namespace {

void print_event(const Event& e) {
  printf("%" PRIu64 " tid %d %s", e.seq, e.tid, event_kind_name(e.kind));
  switch (e.kind) {
    case EventKind::kSyscallEntry:
      printf(" %s", syscall_name(e.syscall_no).c_str());
      break;
    case EventKind::kSyscallExit:
      printf(" %s = %" PRId64, syscall_name(e.syscall_no).c_str(),
             static_cast<int64_t>(e.regs.rax));
      if (e.echo_fd) printf(" (%zu bytes to fd %d)", e.echo_data.size(), e.echo_fd);
      if (e.has_mapped_file) printf(" (maps %s)", e.mapped_file.saved_name.c_str());
      break;
    case EventKind::kSignal:
      printf(" SIG%s%s", sigabbrev_np(e.signo), e.deterministic ? " (synchronous)" : "");
      if (e.tracer == SignalTracer::kStopped) printf(" (stops it for its tracer)");
      if (e.tracer == SignalTracer::kInjected) printf(" (from its tracer)");
      break;
    case EventKind::kExec:
      printf(" %s", e.exe_saved_name.c_str());
      if (e.leader_tid) printf(" (becomes tid %d)", e.leader_tid);
      break;
    case EventKind::kNewTask:
      printf(" tid %d flags 0x%" PRIx64, e.new_tid, e.clone_flags);
      break;
    case EventKind::kInstruction:
      printf(" at 0x%llx", e.regs.rip);
      break;
    case EventKind::kSchedule:
      printf(" at tick %" PRIu64, e.ticks);
      break;
    case EventKind::kExit:
      printf(" status 0x%x", e.exit_status);
      break;
    case EventKind::kBufferFlush: {
      std::vector<BufferedCall> calls;
      if (e.writes.empty() || !decode_buffered_records(e.writes[0].data, &calls)) {
        printf(" (malformed)");
        break;
      }
      for (const BufferedCall& c : calls) {
        printf("\n    %s = %" PRId64 "%s", syscall_name(c.nr).c_str(), c.result,
               c.partial ? " (partial: the rest traced)" : "");
      }
      printf("\n   ");
      break;
    }
    case EventKind::kInstrument:
      printf(" code 0x%" PRIx64 "+0x%" PRIx64 " stubs 0x%" PRIx64 "+0x%" PRIx64 " from %s",
             e.patch_code.addr, e.patch_code.len, e.patch_stubs.addr, e.patch_stubs.len,
             e.patch_saved_name.c_str());
      break;
    case EventKind::kTracerChange:
      break;  // its writes are counted below
  }
  size_t bytes = 0;
  for (const MemWrite& w : e.writes) bytes += w.data.size();
  if (bytes) printf(" [%zu bytes written]", bytes);
  printf(" rip 0x%llx\n", e.regs.rip);
}

}  // namespace

int dump_command(const std::vector<std::string>& args) {
  if (args.size() > 1) return usage_error("dump: more than one trace given");
  std::string error;
  auto reader = TraceReader::open(resolve_trace(args.empty() ? "" : args[0]), &error);
  if (!reader) return usage_error(error);
  Event e;
  uint64_t last = 0;
  while (reader->next(&e, &error)) {
    print_event(e);
    last = e.seq;
  }
  if (!error.empty()) return usage_error(error);
  // How the recording ended, last, like the replay says it.
  if (reader->cut_short()) {
    printf("cut short after event %" PRIu64 ": the recording did not finish\n", last);
  } else if (int sig = reader->summary().ended_by_signal) {
    printf("ended by SIG%s after event %" PRIu64 "\n", sigabbrev_np(sig), last);
  }
  return 0;
}

}  // namespace rrx
