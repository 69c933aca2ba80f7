#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>

#include <cstdio>
#include <map>

#include "cli/commands.h"
#include "cli/json_output.h"
#include "core/printable.h"
#include "trace/trace_dir.h"
#include "trace/trace_reader.h"

namespace rrx {

namespace {

struct Process {
  pid_t pid = 0, ppid = 0;
  std::vector<std::string> argv;
  bool exited = false;
  int wait_status = 0;
};

// Reads `size` bytes at `addr` from the memory an event wrote.
bool read_written(const std::vector<MemWrite>& writes, uint64_t addr, size_t size, void* out) {
  for (const MemWrite& w : writes) {
    if (addr >= w.addr && addr - w.addr + size <= w.data.size()) {
      memcpy(out, w.data.data() + (addr - w.addr), size);
      return true;
    }
  }
  return false;
}

bool read_string(const std::vector<MemWrite>& writes, uint64_t addr, std::string* out) {
  for (const MemWrite& w : writes) {
    if (addr < w.addr || addr >= w.addr + w.data.size()) continue;
    size_t start = addr - w.addr;
    size_t end = w.data.find('\0', start);
    if (end == std::string::npos) return false;
    *out = w.data.substr(start, end - start);
    return true;
  }
  return false;
}

// The argv on the initial stack an exec event carries (argc at rsp, then
// the argv pointers); empty if the stack does not hold it.
std::vector<std::string> exec_argv(const Event& e) {
  uint64_t argc = 0;
  std::vector<std::string> argv;
  if (!read_written(e.writes, e.regs.rsp, 8, &argc) || argc > 65536) return {};
  for (uint64_t i = 0; i < argc; ++i) {
    uint64_t pointer;
    std::string arg;
    if (!read_written(e.writes, e.regs.rsp + 8 * (i + 1), 8, &pointer) ||
        !read_string(e.writes, pointer, &arg)) {
      return {};
    }
    argv.push_back(arg);
  }
  return argv;
}

std::string exit_text(const Process& p) {
  if (!p.exited) return "-";
  if (WIFSIGNALED(p.wait_status)) {
    const char* name = sigabbrev_np(WTERMSIG(p.wait_status));
    return name ? std::string("SIG") + name : "signal " + std::to_string(WTERMSIG(p.wait_status));
  }
  return std::to_string(WEXITSTATUS(p.wait_status));
}

std::string command_text(const std::vector<std::string>& argv) {
  std::string text;
  for (const std::string& a : argv) text += (text.empty() ? "" : " ") + printable(a);
  return text;
}

}  // namespace

int ps_command(const TraceQueryArgs& args) {
  std::string error;
  auto reader = TraceReader::open(resolve_trace(args.trace), &error);
  if (!reader) return usage_error(error);
  std::vector<Process> processes;     // in the order they started
  std::map<pid_t, size_t> process_of; // tid -> index in processes
  Process root;
  root.pid = reader->header().root_tid;
  root.argv = reader->header().argv;
  processes.push_back(root);
  process_of[root.pid] = 0;

  Event e;
  while (reader->next(&e, &error)) {
    auto it = process_of.find(e.tid);
    if (it == process_of.end()) continue;
    size_t index = it->second;
    if (e.kind == EventKind::kNewTask) {
      if (e.clone_flags & CLONE_THREAD) {
        process_of[e.new_tid] = index;
      } else {
        Process child;
        child.pid = e.new_tid;
        child.ppid = processes[index].pid;
        child.argv = processes[index].argv;  // a fork runs the parent's program
        process_of[e.new_tid] = processes.size();
        processes.push_back(child);
      }
    } else if (e.kind == EventKind::kExec) {
      std::vector<std::string> argv = exec_argv(e);
      if (!argv.empty()) processes[index].argv = argv;
    } else if (e.kind == EventKind::kExit && processes[index].pid == e.tid) {
      processes[index].exited = true;
      processes[index].wait_status = e.exit_status;
    }
  }
  if (!error.empty()) return usage_error(error);

  if (!args.json) printf("PID\tPPID\tEXIT\tCMD\n");
  for (const Process& p : processes) {
    if (args.json) {
      Json j = {{"pid", p.pid}, {"ppid", p.ppid}};
      if (!p.exited) {
        j["exit"] = nullptr;
      } else if (WIFSIGNALED(p.wait_status)) {
        j["signal"] = exit_text(p);
      } else {
        j["exit"] = WEXITSTATUS(p.wait_status);
      }
      j["argv"] = p.argv;
      print_json_line(j);
    } else {
      printf("%d\t%s\t%s\t%s\n", p.pid, p.ppid ? std::to_string(p.ppid).c_str() : "-",
             exit_text(p).c_str(), command_text(p.argv).c_str());
    }
  }
  return 0;
}

}  // namespace rrx
