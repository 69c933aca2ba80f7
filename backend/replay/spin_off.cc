#include "replay/spin_off.h"

#include <elf.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "core/exec_setup.h"
#include "core/proc_status.h"
#include "core/remote_syscall.h"
#include "core/spawn.h"
#include "core/stop.h"
#include "preload/syscallbuf_abi.h"
#include "replay/replay_session.h"
#include "replay/replay_task.h"
#include "ticks/tick_page.h"

namespace rrx {

namespace {

constexpr size_t kCopyChunk = 1 << 20;
constexpr size_t kXstateMax = 16384;

// struct sigaction as the kernel takes it (rt_sigaction with sigsetsize 8).
struct KernelSigaction {
  uint64_t handler, flags, restorer, mask;
};

// Mappings that are the kernel's, not copied as memory.
bool kernel_special(const Mapping& m) {
  return m.path == "[vvar]" || m.path == "[vvar_vclock]" || m.path == "[vsyscall]" ||
         m.path == "[vdso]";
}

int prot_of(const Mapping& m) {
  return (m.read ? PROT_READ : 0) | (m.write ? PROT_WRITE : 0) | (m.exec ? PROT_EXEC : 0);
}

// Injected syscalls into one process, failing the spin-off on the first
// that ptrace itself cannot run.
struct Injector {
  Task& task;
  bool ok = true;
  int64_t operator()(int nr, std::initializer_list<uint64_t> args) {
    if (!ok) return -1;
    bool ran;
    int64_t r = remote_syscall(task, nr, args, &ran);
    ok = ran;
    return r;
  }
};

bool is_error(int64_t r) { return r < 0 && r > -4096; }

// What the spin-off reads of the replayed thread before the copy exists.
struct Source {
  Registers regs;
  std::string xstate;
  uint64_t blocked = 0;
  std::vector<SpunOff::Handler> handlers;
  stack_t altstack = {};
  uint64_t robust_head = 0;
  size_t robust_len = 0;
  std::string comm;
};

bool read_source(Task& src, Source* s, SpunOff* out, std::string* error) {
  if (!src.get_regs(&s->regs)) {
    *error = "cannot read the thread's registers";
    return false;
  }
  s->xstate.resize(kXstateMax);
  iovec iov = {s->xstate.data(), s->xstate.size()};
  if (ptrace(PTRACE_GETREGSET, src.tid(), NT_X86_XSTATE, &iov) == 0) {
    s->xstate.resize(iov.iov_len);
  } else {
    s->xstate.clear();
  }
  src.get_sigmask(&s->blocked);
  Injector inject{src};
  out->brk = static_cast<uint64_t>(inject(SYS_brk, {0}));
  {
    StackScratch scratch(src);
    uint64_t addr = scratch.push(std::string(sizeof(KernelSigaction) + sizeof(stack_t), '\0'));
    if (!addr) {
      *error = "no room below the thread's stack";
      return false;
    }
    for (int sig = 1; sig <= 64 && inject.ok; ++sig) {
      if (sig == SIGKILL || sig == SIGSTOP) continue;
      KernelSigaction act = {};
      if (inject(SYS_rt_sigaction, {static_cast<uint64_t>(sig), 0, addr, 8}) != 0 ||
          !src.read_mem(addr, &act, sizeof act)) {
        continue;
      }
      if (act.handler != reinterpret_cast<uint64_t>(SIG_DFL)) {
        s->handlers.push_back({sig, act.handler, act.flags, act.restorer, act.mask});
      }
    }
    uint64_t ss = addr + sizeof(KernelSigaction);
    if (inject(SYS_sigaltstack, {0, ss}) == 0) src.read_mem(ss, &s->altstack, sizeof s->altstack);
  }
  if (!inject.ok) {
    *error = "cannot query the thread's signal state";
    return false;
  }
  syscall(SYS_get_robust_list, src.tid(), &s->robust_head, &s->robust_len);
  std::ifstream comm("/proc/" + std::to_string(src.tid()) + "/comm");
  std::getline(comm, s->comm);
  return true;
}

// Where the process's heap starts (/proc/PID/stat field 47), 0 if unknown.
uint64_t start_brk(pid_t tid) {
  std::string field;
  return read_stat_field(tid, 47, &field) ? std::stoull(field) : 0;
}

// Starts the saved executable stopped at its execve exit (nothing of it
// has run), with a patched vdso for injected syscalls (*gadget).
pid_t start_blank(ReplaySession& session, const ReplayTask& t, uint64_t* gadget,
                  std::string* error) {
  const TraceHeader& h = session.trace().header();
  SpawnOptions spawn;
  spawn.path = session.saved_file_path(t.exe_saved_name);
  if (spawn.path.empty()) {
    *error = "the trace's copy of the executable is missing";
    return -1;
  }
  spawn.argv = {spawn.path};
  spawn.rlimit_cur = h.rlimit_cur;
  spawn.rlimit_max = h.rlimit_max;
  pid_t pid = spawn_traced(spawn, error);
  if (pid < 0) return -1;
  Task task(pid);
  int status;
  Stop stop = {StopKind::kExited};
  if (wait_for(pid, &status) == pid) stop = decode_stop(pid, status);
  if (stop.kind != StopKind::kExec || !setup_at_exec_event(task, false, error) || !task.resume() ||
      wait_for(pid, &status) != pid || decode_stop(pid, status).kind != StopKind::kSyscallExit) {
    if (error->empty()) *error = "cannot start a process for the copy";
    kill_tracee(pid);
    return -1;
  }
  *gadget = task.syscall_gadget;
  return pid;
}

const Mapping* find_exact(const std::vector<Mapping>& maps, const Mapping& m) {
  for (const Mapping& x : maps) {
    if (x.start == m.start && x.end == m.end) return &x;
  }
  return nullptr;
}

// Copies one mapping's bytes; pages that cannot be read (past the end of
// a mapped file, guard pages) are left as they are. `fresh`: the copy's
// mapping is new and zero, so zero chunks need no write.
bool copy_bytes(Task& src, Task& dst, const Mapping& m, bool fresh) {
  std::string buf;
  for (uint64_t at = m.start; at < m.end;) {
    size_t n = std::min<uint64_t>(kCopyChunk, m.end - at);
    buf.resize(n);
    if (!src.read_mem(at, buf.data(), n)) {
      if (n > 4096) {
        n = 4096;  // again page by page
        continue;
      }
      at += n;
      continue;
    }
    bool zero = fresh && buf.find_first_not_of('\0') == std::string::npos;
    if (!zero && !dst.write_mem(at, buf.data(), n)) return false;
    at += n;
  }
  return true;
}

// Replaces the copy's address space by the source's.
bool transplant_memory(Task& src, Task& dst, const std::vector<Mapping>& maps, uint64_t brk,
                       std::string* error) {
  Injector inject{dst};
  // The heap: exec put the copy's brk where the source's started.
  inject(SYS_brk, {brk});
  std::vector<Mapping> own = read_mappings(dst.tid());
  auto vdso = [](const std::vector<Mapping>& v) -> const Mapping* {
    for (const Mapping& m : v) {
      if (m.path == "[vdso]") return &m;
    }
    return nullptr;
  };
  const Mapping* src_vdso = vdso(maps);
  const Mapping* own_vdso = vdso(own);
  // The program calls its vdso where it found it; injected syscalls run in
  // the copy's. The same executable with ASLR off puts both at one place.
  if (!src_vdso || !own_vdso || src_vdso->start != own_vdso->start ||
      src_vdso->end != own_vdso->end) {
    *error = "the copy's vdso is not where the replayed process has it";
    return false;
  }
  for (const Mapping& m : own) {
    if (kernel_special(m) || find_exact(maps, m)) continue;
    if (is_error(inject(SYS_munmap, {m.start, m.end - m.start}))) {
      *error = "cannot clear the copy's address space at " + std::to_string(m.start);
      return false;
    }
  }
  for (const Mapping& m : maps) {
    if (kernel_special(m)) continue;
    const Mapping* kept = find_exact(own, m);
    if (kept) {
      if (is_error(inject(SYS_mprotect, {m.start, m.end - m.start,
                                         static_cast<uint64_t>(prot_of(m))}))) {
        *error = "cannot protect the copy's memory like the source's";
        return false;
      }
    } else {
      uint64_t flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;
      if (m.path == "[stack]") flags |= MAP_GROWSDOWN;
      int64_t r = inject(SYS_mmap, {m.start, m.end - m.start, static_cast<uint64_t>(prot_of(m)),
                                    flags, static_cast<uint64_t>(-1), 0});
      if (static_cast<uint64_t>(r) != m.start) {
        *error = "cannot map memory at " + std::to_string(m.start) + " in the copy";
        return false;
      }
    }
    if (m.read && !copy_bytes(src, dst, m, !kept)) {
      *error = "cannot copy memory at " + std::to_string(m.start);
      return false;
    }
  }
  // The source's vdso is the program's view (in a buffered recording its
  // functions go through the buffering engine): copy it, and from now on
  // inject syscalls at the source's own gadget, the `syscall` in those
  // bytes.
  copy_bytes(src, dst, *src_vdso, false);
  dst.syscall_gadget = src.syscall_gadget;
  if (!inject.ok) *error = "the copy died while its memory was set up";
  return inject.ok;
}

// The thread's signal state, robust list, name; rdtsc back to native.
bool transplant_thread(Task& dst, const Source& s, bool own_stdio, std::string* error) {
  if (!s.xstate.empty()) {
    iovec iov = {const_cast<char*>(s.xstate.data()), s.xstate.size()};
    ptrace(PTRACE_SETREGSET, dst.tid(), NT_X86_XSTATE, &iov);
  }
  dst.set_sigmask(s.blocked);
  Injector inject{dst};
  StackScratch scratch(dst);
  uint64_t addr = scratch.push(std::string(sizeof(KernelSigaction) + sizeof(stack_t), '\0'));
  for (const SpunOff::Handler& h : s.handlers) {
    KernelSigaction act = {h.handler, h.flags, h.restorer, h.mask};
    dst.write_mem(addr, &act, sizeof act);
    inject(SYS_rt_sigaction, {static_cast<uint64_t>(h.sig), addr, 0, 8});
  }
  if (!(s.altstack.ss_flags & SS_DISABLE) && s.altstack.ss_size) {
    stack_t ss = s.altstack;
    ss.ss_flags &= ~SS_ONSTACK;
    dst.write_mem(addr, &ss, sizeof ss);
    inject(SYS_sigaltstack, {addr, 0});
  }
  if (s.robust_head) inject(SYS_set_robust_list, {s.robust_head, s.robust_len});
  if (!s.comm.empty()) {
    uint64_t name = scratch.push(s.comm.substr(0, 15));
    if (name) inject(SYS_prctl, {PR_SET_NAME, name});
  }
  inject(SYS_prctl, {PR_SET_TSC, PR_TSC_ENABLE});  // the replay traps rdtsc
  // A session of its own: a stopped process whose process group is
  // orphaned when rrx exits would get SIGHUP (and die) from the kernel.
  inject(SYS_setsid, {});
  inject(SYS_close_range, {3, ~0U, 0});             // rrx's own fds
  if (!own_stdio) {
    uint64_t devnull = scratch.push("/dev/null");
    int64_t null = devnull ? inject(SYS_openat, {static_cast<uint64_t>(AT_FDCWD), devnull, O_RDWR, 0}) : -1;
    for (uint64_t fd = 0; fd < 3 && !is_error(null); ++fd) {
      if (static_cast<uint64_t>(null) != fd) inject(SYS_dup2, {static_cast<uint64_t>(null), fd});
    }
    if (null > 2) inject(SYS_close, {static_cast<uint64_t>(null)});
  }
  if (!inject.ok) *error = "the copy died while its thread state was set up";
  return inject.ok;
}

// --live: the buffering engine is switched off (it then takes no call:
// each runs at its site's own `syscall`, for real) and the tick counter
// never reaches a target.
void make_pass_through(Task& dst, const std::vector<Mapping>& maps) {
  for (const Mapping& m : maps) {
    if (m.start != RRX_PRELOAD_PAGE_ADDR) continue;
    const uint32_t off = RRX_MODE_OFF;
    dst.write_mem(m.start + offsetof(rrx_preload_page, mode), &off, sizeof off);
  }
  for (const Mapping& m : maps) {
    if (m.start != RRX_TICK_PAGE_ADDR) continue;
    struct rrx_tick_page page;
    if (dst.read_mem(m.start, &page, sizeof page) && page.magic == RRX_TICK_PAGE_MAGIC) {
      uint64_t ticks = page.count + page.target;
      page.target = UINT64_MAX;
      page.count = ticks - page.target;
      page.trap_pending = 0;
      dst.write_mem(m.start, &page, sizeof page);
    }
  }
}

// --live: the recorded working directory and fd table, rebuilt in the
// copy. Regular files are opened again at their path (never created or
// truncated), flags and offset; the recorder's stdio becomes rrx's; the
// rest is /dev/null.
bool restore_fds(Task& dst, const std::string& cwd, bool own_stdio,
                 std::vector<SpunOff::Fd>* fds, std::string* error) {
  Injector inject{dst};
  StackScratch scratch(dst);
  uint64_t devnull = scratch.push("/dev/null");
  // Relative paths the program opens from here on mean what they meant.
  uint64_t dir = cwd.empty() ? 0 : scratch.push(cwd);
  if (dir && is_error(inject(SYS_chdir, {dir}))) {
    *error = "cannot go to the recorded working directory " + cwd;
    return false;
  }
  int top = 2;
  for (const SpunOff::Fd& f : *fds) top = std::max(top, f.entry.fd);
  // rrx's stdio, out of the way of the fds being placed.
  int std_copy[3];
  for (int i = 0; i < 3; ++i) {
    std_copy[i] = static_cast<int>(inject(SYS_fcntl, {static_cast<uint64_t>(i), F_DUPFD,
                                                      static_cast<uint64_t>(top + 1)}));
  }
  inject(SYS_close_range, {0, static_cast<uint64_t>(top), 0});
  std::map<const OpenFile*, int> placed;  // descriptions opened once, then dup'd
  for (SpunOff::Fd& f : *fds) {
    const OpenFile& file = *f.entry.file;
    uint64_t fd = static_cast<uint64_t>(f.entry.fd);
    int64_t got = -1;
    auto again = placed.find(&file);
    if (again != placed.end()) {
      got = inject(SYS_dup2, {static_cast<uint64_t>(again->second), fd});
      for (const SpunOff::Fd& other : *fds) {
        if (other.entry.fd == again->second) f.restored = other.restored, f.why = other.why;
      }
    } else if (file.kind == "stdio" && !own_stdio) {
      f.why = "rrx's stdio is its debugger's";
    } else if (file.kind == "stdio" && file.stdio >= 0 && std_copy[file.stdio] >= 0) {
      got = inject(SYS_dup2, {static_cast<uint64_t>(std_copy[file.stdio]), fd});
      f.restored = "rrx's own";
    } else if (file.kind == "file" && !file.path.empty()) {
      uint64_t path = scratch.push(file.path);
      constexpr uint64_t kNotAgain = O_CREAT | O_EXCL | O_TRUNC | O_CLOEXEC;
      int64_t opened = path ? inject(SYS_openat, {static_cast<uint64_t>(AT_FDCWD), path,
                                                  file.flags & ~kNotAgain, 0})
                            : -ENAMETOOLONG;
      if (!is_error(opened)) {
        got = opened == static_cast<int64_t>(fd) ? opened : inject(SYS_dup2, {static_cast<uint64_t>(opened), fd});
        if (opened != static_cast<int64_t>(fd)) inject(SYS_close, {static_cast<uint64_t>(opened)});
        if (!(file.flags & O_APPEND) && file.offset) inject(SYS_lseek, {fd, file.offset, SEEK_SET});
        f.restored = "reopened";
      } else {
        f.why = std::string("cannot open it again: ") + strerror(static_cast<int>(-opened));
      }
    } else {
      f.why = file.kind == "stdio" ? "rrx's own fd is closed"
                                   : "a " + file.kind + " cannot be restored";
    }
    if (f.restored.empty() || is_error(got)) {
      int64_t null = inject(SYS_openat, {static_cast<uint64_t>(AT_FDCWD), devnull, O_RDWR, 0});
      if (!is_error(null) && null != static_cast<int64_t>(fd)) {
        inject(SYS_dup2, {static_cast<uint64_t>(null), fd});
        inject(SYS_close, {static_cast<uint64_t>(null)});
      }
      f.restored = "/dev/null";
      if (f.why.empty()) f.why = "cannot put it at this number";
    }
    if (f.entry.cloexec) inject(SYS_fcntl, {fd, F_SETFD, FD_CLOEXEC});
    placed.emplace(&file, f.entry.fd);
  }
  inject(SYS_close_range, {static_cast<uint64_t>(top + 1), ~0U, 0});
  if (!inject.ok) *error = "the copy died while its files were opened";
  return inject.ok;
}

// Leaves the copy stopped by SIGSTOP and untraced.
bool detach_stopped(Task& dst) {
  syscall(SYS_tgkill, dst.tid(), dst.tid(), SIGSTOP);
  for (int sig = 0;;) {
    if (!dst.cont(sig)) return false;
    int status;
    if (wait_for(dst.tid(), &status) != dst.tid() || !WIFSTOPPED(status)) return false;
    Stop stop = decode_stop(dst.tid(), status);
    if (stop.kind == StopKind::kSignal && stop.sig == SIGSTOP) break;
    sig = stop.kind == StopKind::kSignal ? stop.sig : 0;
  }
  if (ptrace(PTRACE_DETACH, dst.tid(), nullptr, reinterpret_cast<void*>(SIGSTOP)) != 0) return false;
  // Untraced, it still has to take the SIGSTOP: say its pid once it has
  // (we are its parent, so its stop is reported to us).
  int status;
  return waitpid(dst.tid(), &status, WUNTRACED) == dst.tid() && WIFSTOPPED(status);
}

}  // namespace

bool spin_off(ReplaySession& session, bool live, bool own_stdio, SpunOff* out,
              std::string* error) {
  if (!session.focus_ready_to_copy(error)) return false;
  const ReplayTask* t = session.task(session.focus());
  Task& src = *t->task;
  *out = SpunOff();
  out->recorded_pid = t->tgid;
  out->recorded_tid = t->tid;
  out->event = session.current_event();
  out->live = live;
  session.breakpoints().uninstall(src);  // the program's bytes, not our int3s
  Source source;
  bool ok = read_source(src, &source, out, error);
  out->maps = read_mappings(src.tid());
  uint64_t gadget = 0;
  pid_t pid = ok ? start_blank(session, *t, &gadget, error) : -1;
  if (pid < 0) {
    session.breakpoints().install(src);
    return false;
  }
  Task dst(pid);
  dst.syscall_gadget = gadget;
  ok = transplant_memory(src, dst, out->maps, out->brk, error);
  session.breakpoints().install(src);
  Registers regs = source.regs;
  // Stopped inside a syscall the replay skips: the copy makes it itself.
  if (t->at_exit_early && t->desc) {
    out->in_syscall = t->call.number;
    regs.rip -= 2;
    regs.rax = static_cast<uint64_t>(t->call.number);
    regs.orig_rax = static_cast<uint64_t>(-1);
  }
  out->regs = regs;
  ok = ok && dst.set_regs(regs) && transplant_thread(dst, source, own_stdio, error);
  if (ok) {
    out->blocked = source.blocked;
    out->handlers = source.handlers;
    for (const FdEntry& e : session.fd_tables().table(t->tid)) out->fds.push_back({e, "", ""});
    for (const Mapping& m : out->maps) {
      if (m.path == "[stack]") out->stack = {m.start, m.end};
    }
    out->brk_start = start_brk(src.tid());
    struct rrx_tick_page page;
    if (src.read_mem(RRX_TICK_PAGE_ADDR, &page, sizeof page) && page.magic == RRX_TICK_PAGE_MAGIC) {
      out->ticks = page.count + page.target;
    }
  }
  if (ok && live) {
    make_pass_through(dst, out->maps);
    ok = restore_fds(dst, session.fd_tables().cwd(t->tid), own_stdio, &out->fds, error);
  }
  // Wherever the replay runs pinned, the copy may run anywhere.
  cpu_set_t all;
  CPU_ZERO(&all);
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) CPU_SET(cpu, &all);
  sched_setaffinity(pid, sizeof all, &all);
  if (!ok || !detach_stopped(dst)) {
    if (error->empty()) *error = "cannot detach the copy";
    kill_tracee(pid);
    return false;
  }
  out->pid = pid;
  return true;
}

std::string spin_off_json(const SpunOff& s) {
  using Json = nlohmann::ordered_json;
  const Registers& r = s.regs;
  Json regs = {{"rax", r.rax}, {"rbx", r.rbx}, {"rcx", r.rcx}, {"rdx", r.rdx},
               {"rsi", r.rsi}, {"rdi", r.rdi}, {"rbp", r.rbp}, {"rsp", r.rsp},
               {"r8", r.r8},   {"r9", r.r9},   {"r10", r.r10}, {"r11", r.r11},
               {"r12", r.r12}, {"r13", r.r13}, {"r14", r.r14}, {"r15", r.r15},
               {"rip", r.rip}, {"eflags", r.eflags}, {"orig_rax", r.orig_rax},
               {"fs_base", r.fs_base}, {"gs_base", r.gs_base}};
  Json maps = Json::array();
  for (const Mapping& m : s.maps) {
    std::string perms = std::string(m.read ? "r" : "-") + (m.write ? "w" : "-") +
                        (m.exec ? "x" : "-") + (m.shared ? "s" : "p");
    maps.push_back({{"start", m.start}, {"end", m.end}, {"perms", perms},
                    {"offset", m.offset}, {"path", m.path}});
  }
  Json handlers = Json::array();
  for (const SpunOff::Handler& h : s.handlers) {
    handlers.push_back({{"signal", h.sig}, {"handler", h.handler}, {"flags", h.flags},
                        {"restorer", h.restorer}, {"mask", h.mask}});
  }
  Json fds = Json::array();
  Json lost = Json::array();
  for (const SpunOff::Fd& f : s.fds) {
    const OpenFile& file = *f.entry.file;
    Json fd = {{"fd", f.entry.fd}, {"kind", file.kind}};
    if (!file.path.empty()) fd["path"] = file.path;
    if (file.kind == "stdio") fd["stdio"] = file.stdio;
    fd["offset"] = file.offset;
    fd["flags"] = file.flags;
    fd["cloexec"] = f.entry.cloexec;
    if (!f.restored.empty()) fd["restored"] = f.restored;
    if (!f.why.empty()) fd["why"] = f.why;
    if (f.restored == "/dev/null") lost.push_back(f.entry.fd);
    fds.push_back(fd);
  }
  Json j = {{"pid", s.pid},
            {"recorded_pid", s.recorded_pid},
            {"recorded_tid", s.recorded_tid},
            {"event", s.event},
            {"ticks", s.ticks},
            {"live", s.live},
            {"in_syscall", s.in_syscall >= 0 ? Json(s.in_syscall) : Json(nullptr)},
            {"registers", regs},
            {"brk", {{"start", s.brk_start}, {"end", s.brk}}},
            {"stack", {{"start", s.stack.start}, {"end", s.stack.end}}},
            {"maps", maps},
            {"blocked_signals", s.blocked},
            {"handlers", handlers},
            {"fds", fds}};
  if (s.live) j["not_restored"] = lost;
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

}  // namespace rrx
