#include "stand_in/rerun_target.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/personality.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <sstream>

namespace rrx::stand_in {

RerunTarget::~RerunTarget() { kill_tracee(); }

bool RerunTarget::start(std::string* error) {
  if (!launch()) {
    *error = "cannot run " + exe_ + " under ptrace: " + strerror(errno);
    return false;
  }
  id_ = {pid_, pid_};
  return true;
}

bool RerunTarget::launch() {
  kill_tracee();
  pid_t child = fork();
  if (child < 0) return false;
  if (child == 0) {
    ptrace(PTRACE_TRACEME, 0, nullptr, nullptr);
    personality(ADDR_NO_RANDOMIZE);  // same addresses on every run
    execl(exe_.c_str(), exe_.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  int status;
  if (waitpid(child, &status, 0) != child || !WIFSTOPPED(status)) return false;
  ptrace(PTRACE_SETOPTIONS, child, nullptr, PTRACE_O_EXITKILL);
  pid_ = child;
  // History starts one instruction after the ELF entry point. Stopped
  // exactly at the entry, lldb-19 takes the initial SIGTRAP stop for its
  // dynamic loader's entry breakpoint and auto-continues to the end.
  position_ = 0;
  if (!step()) return false;
  position_ = 0;
  return true;
}

void RerunTarget::kill_tracee() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
  pid_ = 0;
}

uint64_t RerunTarget::pc() {
  user_regs_struct regs{};
  ptrace(PTRACE_GETREGS, pid_, nullptr, &regs);
  return regs.rip;
}

bool RerunTarget::at_end() {
  auto bytes = read_memory(pc(), 2);
  return bytes.size() == 2 && bytes[0] == 0x0f && bytes[1] == 0x05;  // syscall
}

bool RerunTarget::step() {
  int status;
  if (ptrace(PTRACE_SINGLESTEP, pid_, nullptr, nullptr) != 0) return false;
  if (waitpid(pid_, &status, 0) != pid_ || !WIFSTOPPED(status)) return false;
  ++position_;
  return true;
}

bool RerunTarget::go_to(uint64_t position) {
  if (position < position_ && !launch()) return false;
  while (position_ < position) {
    if (!step()) return false;
  }
  return true;
}

bool RerunTarget::read_registers(const ThreadId& thread, RegisterFile* regs) {
  if (!(thread == id_)) return false;
  *regs = RegisterFile{};
  return ptrace(PTRACE_GETREGS, pid_, nullptr, &regs->gpr) == 0 &&
         ptrace(PTRACE_GETFPREGS, pid_, nullptr, &regs->fpr) == 0;
}

bool RerunTarget::write_registers(const ThreadId&, const RegisterFile&, std::string* error) {
  *error = "stand-in replay: registers are read-only";
  return false;
}

std::vector<uint8_t> RerunTarget::read_memory(uint64_t address, size_t length) {
  std::vector<uint8_t> data(length);
  int fd = open(("/proc/" + std::to_string(pid_) + "/mem").c_str(), O_RDONLY);
  ssize_t n = fd < 0 ? -1 : pread(fd, data.data(), length, static_cast<off_t>(address));
  if (fd >= 0) close(fd);
  data.resize(n < 0 ? 0 : n);
  return data;
}

bool RerunTarget::write_memory(uint64_t, const std::vector<uint8_t>&, std::string* error) {
  *error = "stand-in replay: memory is read-only";
  return false;
}

// Breakpoints are checked against the pc after every single step, so
// nothing is ever written into the tracee.
bool RerunTarget::insert_breakpoint(BreakpointKind kind, uint64_t address, size_t) {
  if (kind != BreakpointKind::kSoftware && kind != BreakpointKind::kHardware) return false;
  breakpoints_.insert(address);
  return true;
}

bool RerunTarget::remove_breakpoint(BreakpointKind, uint64_t address, size_t) {
  breakpoints_.erase(address);
  return true;
}

StopReason RerunTarget::resume(const ResumeRequest& request) {
  bool single_step = request.action == ResumeRequest::Action::kStep;
  return request.direction == Direction::kReverse ? backward(single_step)
                                                  : forward(single_step, request);
}

StopReason RerunTarget::forward(bool single_step, const ResumeRequest& request) {
  for (;;) {
    if (at_end()) return stop(StopReason::Kind::kHistoryEnd);
    if (!single_step && request.interrupted && request.interrupted()) {
      return {.thread = id_, .signal = SIGINT};
    }
    if (!step()) return {.kind = StopReason::Kind::kExited, .thread = id_, .exit_code = 1};
    if (single_step) return stop(StopReason::Kind::kSignal);
    if (breakpoints_.count(pc())) return stop(StopReason::Kind::kBreakpoint);
  }
}

StopReason RerunTarget::backward(bool single_step) {
  if (position_ == 0) return stop(StopReason::Kind::kHistoryStart);
  uint64_t target = position_ - 1;
  bool hit = single_step;
  if (!single_step) {
    // Replay the past and remember the last breakpoint hit before now.
    uint64_t now = position_;
    launch();
    target = 0;
    while (position_ < now) {
      if (breakpoints_.count(pc())) {
        target = position_;
        hit = true;
      }
      step();
    }
  }
  go_to(target);
  if (!hit) return stop(StopReason::Kind::kHistoryStart);
  return stop(single_step ? StopReason::Kind::kSignal : StopReason::Kind::kBreakpoint);
}

std::vector<uint8_t> RerunTarget::auxv() {
  std::ifstream in("/proc/" + std::to_string(pid_) + "/auxv", std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

bool RerunTarget::memory_region(uint64_t address, MemoryRegion* region) {
  std::ifstream maps("/proc/" + std::to_string(pid_) + "/maps");
  std::string line;
  uint64_t hole_start = 0;
  auto hole = [&](uint64_t end) {
    *region = MemoryRegion{};
    region->start = hole_start;
    region->size = end - hole_start;
    return true;
  };
  while (std::getline(maps, line)) {
    std::istringstream fields(line);
    std::string range, perms, offset, dev, inode, name;
    fields >> range >> perms >> offset >> dev >> inode >> name;
    uint64_t start = std::stoull(range, nullptr, 16);
    uint64_t end = std::stoull(range.substr(range.find('-') + 1), nullptr, 16);
    if (address < start) return hole(start);
    if (address < end) {
      *region = {.start = start, .size = end - start, .mapped = true,
                 .readable = perms[0] == 'r', .writable = perms[1] == 'w',
                 .executable = perms[2] == 'x', .name = name};
      return true;
    }
    hole_start = end;
  }
  return hole(~0ull);
}

bool RerunTarget::monitor(const std::string& command, std::string* output) {
  std::istringstream words(command);
  std::string verb, object;
  words >> verb;
  if (verb == "when") {
    *output = "Current event: " + std::to_string(position_) + "\n";
  } else if (verb == "when-ticks") {
    *output = "Current tick: " + std::to_string(position_) + "\n";
  } else if (verb == "when-tid") {
    *output = "Current tid: " + std::to_string(id_.tid) + "\n";
  } else if (verb == "checkpoint") {
    int id = next_checkpoint_++;
    checkpoints_[id] = position_;
    *output = "Checkpoint " + std::to_string(id) + " at event " + std::to_string(position_) + "\n";
  } else if (verb == "info" && (words >> object) && object == "checkpoints") {
    *output = checkpoints_.empty() ? "No checkpoints.\n" : "ID\tWhen\n";
    for (auto [id, position] : checkpoints_) {
      *output += std::to_string(id) + "\tevent " + std::to_string(position) + "\n";
    }
  } else if (verb == "delete" && (words >> object) && object == "checkpoint") {
    int id = 0;
    words >> id;
    if (checkpoints_.erase(id) == 0) {
      *output = "No checkpoint " + std::to_string(id) + ".\n";
      return false;
    }
    *output = "Deleted checkpoint " + std::to_string(id) + ".\n";
  } else if (verb == "restart") {
    int id = 0;
    words >> id;
    auto it = checkpoints_.find(id);
    if (it == checkpoints_.end()) {
      *output = "No checkpoint " + std::to_string(id) + ".\n";
      return false;
    }
    go_to(it->second);
    *output = "Restarted at checkpoint " + std::to_string(id) + " (event " +
              std::to_string(position_) + ").\n";
  } else {
    *output = "unknown command: " + command + "\n";
    return false;
  }
  return true;
}

}  // namespace rrx::stand_in
