#include <signal.h>
#include <string.h>
#include <sys/wait.h>

#include <cinttypes>
#include <cstdio>

#include "cli/commands.h"
#include "cli/json_output.h"
#include "syscalls/buffered_records.h"
#include "syscalls/syscall_table.h"
#include "trace/trace_dir.h"
#include "trace/trace_reader.h"

namespace rrx {

namespace {

std::string signal_name(int signo) {
  const char* abbrev = sigabbrev_np(signo);
  return abbrev ? std::string("SIG") + abbrev : "signal " + std::to_string(signo);
}

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
      printf(" %s%s", signal_name(e.signo).c_str(), e.deterministic ? " (synchronous)" : "");
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
  if (e.new_buffer) printf(" [syscall buffer 0x%" PRIx64 "]", e.new_buffer);
  if (e.ticks_at_event) printf(" [thread at tick %" PRIu64 "]", e.ticks_at_event);
  printf(" rip 0x%llx\n", e.regs.rip);
}

// The same facts as print_event, as one JSON object.
Json event_json(const Event& e) {
  Json j = {{"seq", e.seq}, {"tid", e.tid}, {"kind", event_kind_name(e.kind)}};
  if (e.ticks_at_event) j["ticks_at_event"] = e.ticks_at_event;
  switch (e.kind) {
    case EventKind::kSyscallEntry:
      j["syscall"] = syscall_name(e.syscall_no);
      break;
    case EventKind::kSyscallExit:
      j["syscall"] = syscall_name(e.syscall_no);
      j["result"] = static_cast<int64_t>(e.regs.rax);
      if (e.echo_fd) j["output"] = {{"fd", e.echo_fd}, {"bytes", e.echo_data.size()}};
      if (e.has_mapped_file) j["maps"] = e.mapped_file.saved_name;
      if (e.new_buffer) j["syscall_buffer"] = e.new_buffer;
      break;
    case EventKind::kSignal:
      j["signal"] = signal_name(e.signo);
      j["synchronous"] = e.deterministic;
      if (e.ticks) j["ticks"] = e.ticks;
      break;
    case EventKind::kExec:
      j["exe"] = e.exe_saved_name;
      break;
    case EventKind::kNewTask:
      j["new_tid"] = e.new_tid;
      j["clone_flags"] = e.clone_flags;
      break;
    case EventKind::kInstruction:
      j["at"] = e.regs.rip;
      break;
    case EventKind::kSchedule:
      j["ticks"] = e.ticks;
      break;
    case EventKind::kExit:
      j["wait_status"] = e.exit_status;
      break;
    case EventKind::kBufferFlush: {
      std::vector<BufferedCall> calls;
      if (e.writes.empty() || !decode_buffered_records(e.writes[0].data, &calls)) {
        j["malformed"] = true;
        break;
      }
      Json list = Json::array();
      for (const BufferedCall& c : calls) {
        list.push_back({{"syscall", syscall_name(c.nr)}, {"result", c.result}, {"partial", c.partial}});
      }
      j["calls"] = list;
      break;
    }
    case EventKind::kInstrument:
      j["code"] = {{"addr", e.patch_code.addr}, {"len", e.patch_code.len}};
      j["stubs"] = {{"addr", e.patch_stubs.addr}, {"len", e.patch_stubs.len}};
      j["patch"] = e.patch_saved_name;
      break;
    case EventKind::kTracerChange:
      break;  // its writes are counted below
  }
  size_t bytes = 0;
  for (const MemWrite& w : e.writes) bytes += w.data.size();
  j["bytes_written"] = bytes;
  j["rip"] = e.regs.rip;
  return j;
}

}  // namespace

int dump_command(const DumpArgs& args) {
  std::string error;
  auto reader = TraceReader::open(resolve_trace(args.trace), &error);
  if (!reader) return usage_error(error);
  Event e;
  uint64_t last = 0;
  while (reader->next(&e, &error)) {
    last = e.seq;
    if (e.seq < args.range.from) continue;
    if (e.seq > args.range.to) break;
    if (args.json) {
      print_json_line(event_json(e));
    } else {
      print_event(e);
    }
  }
  if (!error.empty()) return usage_error(error);
  if (args.json || last > args.range.to) return 0;  // the range ended before the trace
  // How the recording ended, last, like the replay says it.
  if (reader->cut_short()) {
    printf("cut short after event %" PRIu64 ": the recording did not finish\n", last);
  } else if (int sig = reader->summary().ended_by_signal) {
    printf("ended by %s after event %" PRIu64 "\n", signal_name(sig).c_str(), last);
  }
  for (int32_t pid : reader->summary().left_running) {
    printf("process %d was left running by the initial process and killed\n", pid);
  }
  return 0;
}

}  // namespace rrx
