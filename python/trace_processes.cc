#include "trace_processes.h"

#include <elf.h>
#include <sched.h>

#include <cstring>
#include <map>

#include "trace/trace_reader.h"

namespace rrx {

namespace {

// What an exec event saved of the new program's initial stack: argc,
// argv[], NULL, envp[], NULL, then the auxv, whose AT_EXECFN points to the
// path execve was given. The strings lie further up the same stack.
struct ExecStack {
  const MemWrite& stack;

  bool word(uint64_t offset, uint64_t* out) const {
    if (offset + 8 > stack.data.size()) return false;
    memcpy(out, stack.data.data() + offset, 8);
    return true;
  }
  bool string_at(uint64_t pointer, std::string* out) const {
    if (pointer < stack.addr || pointer - stack.addr >= stack.data.size()) return false;
    const char* s = stack.data.data() + (pointer - stack.addr);
    *out = std::string(s, strnlen(s, stack.data.size() - (pointer - stack.addr)));
    return true;
  }

  std::vector<std::string> argv() const {
    std::vector<std::string> args;
    uint64_t argc = 0, pointer;
    std::string arg;
    if (!word(0, &argc) || argc > stack.data.size() / 8) return args;
    for (uint64_t i = 0; i < argc && word(8 * (i + 1), &pointer) && string_at(pointer, &arg); ++i) {
      args.push_back(arg);
    }
    return args;
  }

  std::string exec_path() const {
    uint64_t argc = 0, value = 1;
    if (!word(0, &argc) || argc > stack.data.size() / 8) return "";
    uint64_t at = 8 * (argc + 2);                        // envp
    while (value != 0 && word(at, &value)) at += 8;      // past its NULL
    for (uint64_t type; word(at, &type) && type != AT_NULL; at += 16) {
      std::string path;
      if (type == AT_EXECFN && word(at + 8, &value) && string_at(value, &path)) return path;
    }
    return "";
  }
};

}  // namespace

bool read_processes(TraceReader& reader, std::vector<ProcessInfo>* processes, std::string* error) {
  std::map<pid_t, size_t> index;  // pid -> position in *processes
  std::map<pid_t, pid_t> process_of;  // tid -> pid
  pid_t root = reader.header().root_tid;
  processes->push_back({root, 0, "", reader.header().argv, std::nullopt});
  index[root] = 0;
  process_of[root] = root;
  Event e;
  while (reader.next(&e, error)) {
    pid_t pid = process_of.count(e.tid) ? process_of[e.tid] : e.tid;
    switch (e.kind) {
      case EventKind::kNewTask:
        if (e.clone_flags & CLONE_THREAD) {
          process_of[e.new_tid] = pid;
        } else {
          process_of[e.new_tid] = e.new_tid;
          index[e.new_tid] = processes->size();
          ProcessInfo child{e.new_tid, pid, "", {}, std::nullopt};
          if (index.count(pid)) {  // a fork runs its parent's program
            child.exe = (*processes)[index[pid]].exe;
            child.argv = (*processes)[index[pid]].argv;
          }
          processes->push_back(child);
        }
        break;
      case EventKind::kExec:
        if (index.count(pid)) {
          ProcessInfo& p = (*processes)[index[pid]];
          if (e.writes.empty()) break;
          ExecStack stack{e.writes.front()};
          p.exe = stack.exec_path();
          p.argv = stack.argv();
        }
        break;
      case EventKind::kExit:
        if (e.tid == pid && index.count(pid)) (*processes)[index[pid]].wait_status = e.exit_status;
        break;
      default:
        break;
    }
  }
  return error->empty();
}

}  // namespace rrx
