// rrx.Replay: one process of a trace replayed in this process (the calling
// thread is the tracer), driven through ReplayDriver. Long calls release
// the GIL; forwards runs poll for Ctrl-C.
#include <pthread.h>

#include <optional>
#include <set>

#include "module.h"
#include "replay_driver.h"

namespace rrx::py {

namespace {

PyTypeObject* StopType;
PyTypeObject* WriteType;

PyStructSequence_Field kStopFields[] = {
    {"reason", "'breakpoint', 'watchpoint', 'signal', 'step', 'start', 'end' or 'event' (seek)"},
    {"pc", "the stopped thread's pc"},
    {"event", "the number of the last replayed event"},
    {"thread", "recorded id of the stopped thread"},
    {"address", "the watched address that fired ('watchpoint'), else None"},
    {"signal", "the signal ('signal'), else None"},
    {nullptr, nullptr}};
PyStructSequence_Desc kStopDesc = {"rrx.Stop", "Where and why a replay stopped.", kStopFields, 6};

PyStructSequence_Field kWriteFields[] = {
    {"event", "the number of the last event replayed before the write"},
    {"ticks", "the process's tick count at the write (0 without soft ticks)"},
    {"pc", "address of the writing instruction (None if rrx cannot tell)"},
    {"thread", "recorded id of the writing thread"},
    {"old", "the range's bytes before the write"},
    {"new", "the range's bytes after it"},
    {nullptr, nullptr}};
PyStructSequence_Desc kWriteDesc = {"rrx.Write", "A write to a watched range of memory.",
                                    kWriteFields, 6};

bool set(PyObject* seq, int i, PyObject* value) {
  if (!value) return false;
  PyStructSequence_SetItem(seq, i, value);
  return true;
}

PyObject* none() { Py_RETURN_NONE; }

PyObject* bytes(const std::vector<uint8_t>& b) {
  return PyBytes_FromStringAndSize(reinterpret_cast<const char*>(b.data()), b.size());
}

PyObject* stop_object(const ScriptStop& s) {
  PyObject* o = PyStructSequence_New(StopType);
  if (!o) return nullptr;
  bool watch = s.reason == ScriptStop::Reason::kWatchpoint;
  bool sig = s.reason == ScriptStop::Reason::kSignal;
  if (!(set(o, 0, PyUnicode_FromString(reason_name(s.reason))) &&
        set(o, 1, PyLong_FromUnsignedLongLong(s.pc)) &&
        set(o, 2, PyLong_FromUnsignedLongLong(s.event)) && set(o, 3, PyLong_FromLong(s.thread)) &&
        set(o, 4, watch ? PyLong_FromUnsignedLongLong(s.address) : none()) &&
        set(o, 5, sig ? PyLong_FromLong(s.signal) : none()))) {
    Py_CLEAR(o);
  }
  return o;
}

PyObject* write_object(const FoundWrite& w) {
  PyObject* o = PyStructSequence_New(WriteType);
  if (!o) return nullptr;
  if (!(set(o, 0, PyLong_FromUnsignedLongLong(w.event)) &&
        set(o, 1, PyLong_FromUnsignedLongLong(w.ticks)) &&
        set(o, 2, w.pc ? PyLong_FromUnsignedLongLong(w.pc) : none()) &&
        set(o, 3, PyLong_FromLong(w.thread)) && set(o, 4, bytes(w.old_bytes)) &&
        set(o, 5, bytes(w.new_bytes)))) {
    Py_CLEAR(o);
  }
  return o;
}

// ---- rrx.Replay ----

struct ReplayObject {
  PyObject_HEAD
  ReplayDriver* driver;  // null once closed
  pthread_t owner;       // ptrace answers only the thread that attached
};

// Replays still open, ended when the interpreter exits.
std::set<ReplayObject*> live_replays;

void close_driver(ReplayObject* self) {
  if (!self->driver) return;
  ReplayDriver* driver = self->driver;
  self->driver = nullptr;
  live_replays.erase(self);
  without_gil([&] { delete driver; });
}

void close_all_at_exit() {
  for (ReplayObject* r : std::set<ReplayObject*>(live_replays)) {
    delete r->driver;
    r->driver = nullptr;
  }
  live_replays.clear();
}

// The driver, or nullptr with rrx.ReplayError set.
ReplayDriver* usable(ReplayObject* self) {
  if (!self->driver) {
    raise(ReplayError, "the replay is closed");
    return nullptr;
  }
  if (!pthread_equal(self->owner, pthread_self())) {
    raise(ReplayError, "a replay can only be used from the thread that opened it");
    return nullptr;
  }
  return self->driver;
}

bool to_address(PyObject* value, uint64_t* out) {
  if (!PyLong_Check(value)) {
    raise(AddressError, "an address must be an int");
    return false;
  }
  *out = PyLong_AsUnsignedLongLong(value);
  if (PyErr_Occurred()) {
    PyErr_Clear();
    raise(AddressError, "an address must be an int from 0 to 2**64-1");
    return false;
  }
  return true;
}

int replay_init(ReplayObject* self, PyObject* args, PyObject* kwargs) {
  static const char* kKeywords[] = {"path", "process", nullptr};
  PyObject* path = Py_None;
  PyObject* process = Py_None;
  if (!PyArg_ParseTupleAndKeywords(args, kwargs, "|OO:Replay", const_cast<char**>(kKeywords),
                                   &path, &process)) {
    return -1;
  }
  if (self->driver) close_driver(self);
  std::string dir, which;
  if (path != Py_None) {
    PyObject* fs = PyOS_FSPath(path);
    if (!fs || !PyUnicode_Check(fs)) {
      Py_XDECREF(fs);
      PyErr_Clear();
      raise(TraceError, "the trace path must be a str or path");
      return -1;
    }
    dir = PyUnicode_AsUTF8(fs);
    Py_DECREF(fs);
  }
  if (PyLong_Check(process)) {
    long pid = PyLong_AsLong(process);
    if (pid <= 0) {
      PyErr_Clear();
      raise(ReplayError, "a process id must be positive");
      return -1;
    }
    which = std::to_string(pid);
  } else if (PyUnicode_Check(process)) {
    which = PyUnicode_AsUTF8(process);
  } else if (process != Py_None) {
    raise(ReplayError, "process must be a recorded pid (int) or a program name (str)");
    return -1;
  }
  std::string error;
  std::unique_ptr<ReplayDriver> driver;
  without_gil([&] { driver = ReplayDriver::open(dir, which, &error); });
  if (!driver) {
    raise(TraceError, error);
    return -1;
  }
  self->driver = driver.release();
  self->owner = pthread_self();
  live_replays.insert(self);
  return 0;
}

void replay_dealloc(ReplayObject* self) {
  close_driver(self);
  Py_TYPE(self)->tp_free(reinterpret_cast<PyObject*>(self));
}

PyObject* replay_close(ReplayObject* self, PyObject*) {
  if (self->driver && !usable(self)) return nullptr;  // another thread's
  close_driver(self);
  Py_RETURN_NONE;
}

PyObject* replay_enter(ReplayObject* self, PyObject*) {
  if (!usable(self)) return nullptr;
  Py_INCREF(self);
  return reinterpret_cast<PyObject*>(self);
}

PyObject* replay_exit(ReplayObject* self, PyObject*) {
  close_driver(self);
  Py_RETURN_FALSE;
}

PyObject* replay_when(ReplayObject* self, PyObject*) {
  ReplayDriver* d = usable(self);
  return d ? PyLong_FromUnsignedLongLong(d->when()) : nullptr;
}

PyObject* replay_ticks(ReplayObject* self, PyObject*) {
  ReplayDriver* d = usable(self);
  return d ? PyLong_FromUnsignedLongLong(d->ticks()) : nullptr;
}

PyObject* replay_pc(ReplayObject* self, void*) {
  ReplayDriver* d = usable(self);
  return d ? PyLong_FromUnsignedLongLong(d->pc()) : nullptr;
}

PyObject* replay_thread(ReplayObject* self, void*) {
  ReplayDriver* d = usable(self);
  return d ? PyLong_FromLong(d->thread()) : nullptr;
}

PyObject* replay_executable(ReplayObject* self, void*) {
  ReplayDriver* d = usable(self);
  return d ? PyUnicode_DecodeFSDefault(d->executable().c_str()) : nullptr;
}

// A run of the replay: without the GIL, Ctrl-C polled when going forwards.
PyObject* run(ReplayObject* self, const std::function<ScriptStop(const ReplayDriver::Interrupted&)>& go) {
  ReplayDriver* d = usable(self);
  if (!d) return nullptr;
  InterruptPoll poll;
  ScriptStop stop;
  without_gil([&] { stop = go(std::ref(poll)); });
  if (poll.raised()) return nullptr;  // KeyboardInterrupt is set
  return stop_object(stop);
}

PyObject* resume(ReplayObject* self, Direction direction, ResumeRequest::Action action) {
  return run(self, [&](const ReplayDriver::Interrupted& interrupted) {
    return self->driver->resume(direction, action, interrupted);
  });
}

PyObject* replay_cont(ReplayObject* self, PyObject*) {
  return resume(self, Direction::kForward, ResumeRequest::Action::kContinue);
}
PyObject* replay_reverse_cont(ReplayObject* self, PyObject*) {
  return resume(self, Direction::kReverse, ResumeRequest::Action::kContinue);
}
PyObject* replay_step(ReplayObject* self, PyObject*) {
  return resume(self, Direction::kForward, ResumeRequest::Action::kStep);
}
PyObject* replay_reverse_step(ReplayObject* self, PyObject*) {
  return resume(self, Direction::kReverse, ResumeRequest::Action::kStep);
}

// An event number argument (an int >= 0); None too if `optional`.
bool event_arg(PyObject* value, bool optional, std::optional<uint64_t>* event) {
  if (optional && value == Py_None) return true;
  unsigned long long n = PyLong_Check(value) ? PyLong_AsUnsignedLongLong(value) : 0;
  if (!PyLong_Check(value) || PyErr_Occurred()) {
    PyErr_Clear();
    raise(ReplayError, optional ? "an event number must be an int >= 0 or None"
                                : "an event number must be an int >= 0");
    return false;
  }
  *event = n;
  return true;
}

PyObject* replay_seek(ReplayObject* self, PyObject* arg) {
  std::optional<uint64_t> event;
  if (!event_arg(arg, false, &event)) return nullptr;
  return run(self, [&](const ReplayDriver::Interrupted& interrupted) {
    return self->driver->seek(*event, interrupted);
  });
}

// An address argument: an int, or a symbol's name.
bool address_arg(ReplayDriver* d, PyObject* arg, uint64_t* address) {
  if (PyUnicode_Check(arg)) {
    std::string error;
    if (d->symbol(PyUnicode_AsUTF8(arg), address, &error)) return true;
    raise(SymbolError, error);
    return false;
  }
  return to_address(arg, address);
}

PyObject* replay_break_at(ReplayObject* self, PyObject* arg) {
  ReplayDriver* d = usable(self);
  uint64_t address;
  if (!d || !address_arg(d, arg, &address)) return nullptr;
  int id;
  std::string error;
  if (!d->break_at(address, &id, &error)) return raise(AddressError, error);
  return PyLong_FromLong(id);
}

PyObject* replay_watch(ReplayObject* self, PyObject* args, PyObject* kwargs) {
  static const char* kKeywords[] = {"addr", "size", "kind", nullptr};
  ReplayDriver* d = usable(self);
  PyObject* where;
  unsigned long long size;
  const char* kind = "write";
  if (!d || !PyArg_ParseTupleAndKeywords(args, kwargs, "OK|s:watch", const_cast<char**>(kKeywords),
                                         &where, &size, &kind)) {
    return nullptr;
  }
  uint64_t address;
  if (!address_arg(d, where, &address)) return nullptr;
  std::string k = kind;
  BreakpointKind bk = k == "write"    ? BreakpointKind::kWriteWatch
                      : k == "read"   ? BreakpointKind::kReadWatch
                      : k == "access" ? BreakpointKind::kAccessWatch
                                      : BreakpointKind::kSoftware;
  if (bk == BreakpointKind::kSoftware) {
    return raise(ReplayError, "watch kind must be 'write', 'read' or 'access'");
  }
  int id;
  std::string error;
  if (!d->watch(address, size, bk, &id, &error)) return raise(AddressError, error);
  return PyLong_FromLong(id);
}

PyObject* replay_delete(ReplayObject* self, PyObject* arg) {
  ReplayDriver* d = usable(self);
  if (!d) return nullptr;
  long id = PyLong_Check(arg) ? PyLong_AsLong(arg) : -1;
  PyErr_Clear();
  std::string error;
  if (!d->remove(static_cast<int>(id), &error)) return raise(ReplayError, error);
  Py_RETURN_NONE;
}

PyObject* replay_read(ReplayObject* self, PyObject* args) {
  ReplayDriver* d = usable(self);
  PyObject* where;
  unsigned long long size;
  if (!d || !PyArg_ParseTuple(args, "OK:read", &where, &size)) return nullptr;
  uint64_t address;
  if (!address_arg(d, where, &address)) return nullptr;
  if (size > (1ULL << 30)) return raise(AddressError, "read() reads at most 1 GiB at once");
  std::vector<uint8_t> data;
  std::string error;
  if (!d->read(address, size, &data, &error)) return raise(AddressError, error);
  return bytes(data);
}

PyObject* replay_registers(ReplayObject* self, PyObject*) {
  ReplayDriver* d = usable(self);
  if (!d) return nullptr;
  RegisterFile regs;
  if (!d->registers(&regs)) return raise(ReplayError, "the current thread has no registers (it is gone)");
  const user_regs_struct& r = regs.gpr;
  const std::pair<const char*, unsigned long long> kNamed[] = {
      {"rax", r.rax}, {"rbx", r.rbx}, {"rcx", r.rcx}, {"rdx", r.rdx}, {"rsi", r.rsi},
      {"rdi", r.rdi}, {"rbp", r.rbp}, {"rsp", r.rsp}, {"r8", r.r8},   {"r9", r.r9},
      {"r10", r.r10}, {"r11", r.r11}, {"r12", r.r12}, {"r13", r.r13}, {"r14", r.r14},
      {"r15", r.r15}, {"rip", r.rip}, {"eflags", r.eflags}, {"cs", r.cs}, {"ss", r.ss},
      {"ds", r.ds},   {"es", r.es},   {"fs", r.fs},   {"gs", r.gs},   {"fs_base", r.fs_base},
      {"gs_base", r.gs_base}, {"orig_rax", r.orig_rax}};
  PyObject* dict = PyDict_New();
  for (const auto& [name, value] : kNamed) {
    PyObject* v = dict ? PyLong_FromUnsignedLongLong(value) : nullptr;
    if (!v || PyDict_SetItemString(dict, name, v) != 0) {
      Py_XDECREF(v);
      Py_XDECREF(dict);
      return nullptr;
    }
    Py_DECREF(v);
  }
  return dict;
}

PyObject* replay_symbol(ReplayObject* self, PyObject* arg) {
  ReplayDriver* d = usable(self);
  if (!d) return nullptr;
  if (!PyUnicode_Check(arg)) return raise(SymbolError, "symbol() takes a name (str)");
  uint64_t address;
  if (!address_arg(d, arg, &address)) return nullptr;
  return PyLong_FromUnsignedLongLong(address);
}

PyObject* replay_function_at(ReplayObject* self, PyObject* arg) {
  ReplayDriver* d = usable(self);
  uint64_t address;
  if (!d || !to_address(arg, &address)) return nullptr;
  std::string name = d->symbol_at(address);
  if (name.empty()) Py_RETURN_NONE;
  return PyUnicode_FromString(name.c_str());
}

PyObject* replay_checkpoint(ReplayObject* self, PyObject*) {
  ReplayDriver* d = usable(self);
  if (!d) return nullptr;
  int id;
  std::string error;
  bool ok;
  without_gil([&] { ok = d->checkpoint(&id, &error); });
  if (!ok) return raise(ReplayError, "cannot checkpoint here: " + error);
  return PyLong_FromLong(id);
}

PyObject* replay_spin_off(ReplayObject* self, PyObject* args, PyObject* kwargs) {
  static const char* kKeywords[] = {"live", nullptr};
  ReplayDriver* d = usable(self);
  int live = 0;
  if (!d || !PyArg_ParseTupleAndKeywords(args, kwargs, "|p:spin_off", const_cast<char**>(kKeywords),
                                         &live)) {
    return nullptr;
  }
  int pid = 0;
  std::string json, error;
  bool ok;
  without_gil([&] { ok = d->spin_off(live, &pid, &json, &error); });
  if (!ok) return raise(ReplayError, "cannot spin off here: " + error);
  PyObject* json_module = PyImport_ImportModule("json");
  if (!json_module) return nullptr;
  PyObject* state = PyObject_CallMethod(json_module, "loads", "s#", json.data(),
                                        static_cast<Py_ssize_t>(json.size()));
  Py_DECREF(json_module);
  if (!state) return nullptr;
  return Py_BuildValue("(iN)", pid, state);
}

PyObject* replay_restart(ReplayObject* self, PyObject* arg) {
  ReplayDriver* d = usable(self);
  if (!d) return nullptr;
  long id = PyLong_Check(arg) ? PyLong_AsLong(arg) : -1;
  PyErr_Clear();
  std::string error;
  bool ok;
  without_gil([&] { ok = d->restart(static_cast<int>(id), &error); });
  if (!ok) return raise(ReplayError, error);
  Py_RETURN_NONE;
}

bool range_args(ReplayDriver* d, PyObject* where, unsigned long long size, uint64_t* address) {
  if (!address_arg(d, where, address)) return false;
  if (size == 0 || size > 32) {
    raise(AddressError, "a write query watches 1 to 32 bytes");
    return false;
  }
  return true;
}

PyObject* replay_last_write(ReplayObject* self, PyObject* args) {
  ReplayDriver* d = usable(self);
  PyObject* where;
  unsigned long long size;
  if (!d || !PyArg_ParseTuple(args, "OK:last_write", &where, &size)) return nullptr;
  uint64_t address;
  if (!range_args(d, where, size, &address)) return nullptr;
  std::optional<FoundWrite> found;
  std::string error;
  bool ok;
  without_gil([&] { ok = d->last_write(address, size, &found, &error); });
  if (!ok) return raise(AddressError, error);
  if (!found) Py_RETURN_NONE;
  return write_object(*found);
}

// ---- the writes() iterator ----

struct WritesIterator {
  PyObject_HEAD
  ReplayObject* replay;
  uint64_t address, size;
  std::optional<uint64_t> start;  // event to seek to first (then cleared)
  std::optional<uint64_t> end;    // none: the end of the recording
  bool done;
};

PyTypeObject WritesIteratorType = {PyVarObject_HEAD_INIT(nullptr, 0)};

PyObject* writes_next(WritesIterator* self) {
  if (self->done) return nullptr;
  ReplayDriver* d = usable(self->replay);
  if (!d) return nullptr;
  InterruptPoll poll;
  if (self->start) {
    uint64_t start = *self->start;
    self->start.reset();
    without_gil([&] { d->seek(start, std::ref(poll)); });
    if (poll.raised()) return nullptr;
  }
  FoundWrite w;
  std::string error;
  ReplayDriver::Next next;
  without_gil([&] { next = d->next_write(self->address, self->size, self->end, std::ref(poll), &w, &error); });
  switch (next) {
    case ReplayDriver::Next::kFound: return write_object(w);
    case ReplayDriver::Next::kNone: self->done = true; return nullptr;
    case ReplayDriver::Next::kInterrupted: return nullptr;
    case ReplayDriver::Next::kFailed: self->done = true; return raise(ReplayError, error);
  }
  return nullptr;
}

void writes_dealloc(WritesIterator* self) {
  Py_XDECREF(self->replay);
  Py_TYPE(self)->tp_free(reinterpret_cast<PyObject*>(self));
}

PyObject* replay_writes(ReplayObject* self, PyObject* args, PyObject* kwargs) {
  static const char* kKeywords[] = {"addr", "size", "start", "end", nullptr};
  ReplayDriver* d = usable(self);
  PyObject* where;
  unsigned long long size;
  PyObject* start = Py_None;
  PyObject* end = Py_None;
  if (!d || !PyArg_ParseTupleAndKeywords(args, kwargs, "OK|OO:writes", const_cast<char**>(kKeywords),
                                         &where, &size, &start, &end)) {
    return nullptr;
  }
  uint64_t address;
  if (!range_args(d, where, size, &address)) return nullptr;
  std::optional<uint64_t> start_event, end_event;
  if (!event_arg(start, true, &start_event) || !event_arg(end, true, &end_event)) return nullptr;
  WritesIterator* it = PyObject_New(WritesIterator, &WritesIteratorType);
  if (!it) return nullptr;
  Py_INCREF(self);
  it->replay = self;
  it->address = address;
  it->size = size;
  new (&it->start) std::optional<uint64_t>(start_event);
  new (&it->end) std::optional<uint64_t>(end_event);
  it->done = false;
  return reinterpret_cast<PyObject*>(it);
}

PyMethodDef kReplayMethods[] = {
    {"close", reinterpret_cast<PyCFunction>(replay_close), METH_NOARGS,
     "close()\n\nEnds every replayed process. The replay cannot be used afterwards."},
    {"__enter__", reinterpret_cast<PyCFunction>(replay_enter), METH_NOARGS, "Returns the replay."},
    {"__exit__", reinterpret_cast<PyCFunction>(replay_exit), METH_VARARGS, "Closes the replay."},
    {"when", reinterpret_cast<PyCFunction>(replay_when), METH_NOARGS,
     "when() -> int\n\nThe number of the last replayed event."},
    {"ticks", reinterpret_cast<PyCFunction>(replay_ticks), METH_NOARGS,
     "ticks() -> int\n\nThe process's tick count (0 if the program counts no soft ticks)."},
    {"seek", reinterpret_cast<PyCFunction>(replay_seek), METH_O,
     "seek(event) -> Stop\n\nGoes to just after event `event` (backwards too), ignoring\n"
     "breakpoints on the way; if the current thread is inside a syscall there, on to the\n"
     "first event after which it is not. reason 'event', or 'start' if the process did not\n"
     "exist yet at that event, or 'end' if the trace ends first."},
    {"cont", reinterpret_cast<PyCFunction>(replay_cont), METH_NOARGS,
     "cont() -> Stop\n\nRuns forwards to the next breakpoint or watchpoint, or the end."},
    {"reverse_cont", reinterpret_cast<PyCFunction>(replay_reverse_cont), METH_NOARGS,
     "reverse_cont() -> Stop\n\nRuns backwards to the previous breakpoint or watchpoint hit,\n"
     "or the start. A watchpoint stop is at the instruction that made the access."},
    {"step", reinterpret_cast<PyCFunction>(replay_step), METH_NOARGS,
     "step() -> Stop\n\nExecutes one instruction of the current thread."},
    {"reverse_step", reinterpret_cast<PyCFunction>(replay_reverse_step), METH_NOARGS,
     "reverse_step() -> Stop\n\nGoes back one instruction of the current thread."},
    {"break_at", reinterpret_cast<PyCFunction>(replay_break_at), METH_O,
     "break_at(addr_or_symbol) -> int\n\nSets a breakpoint; returns its id."},
    {"watch", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(replay_watch)),
     METH_VARARGS | METH_KEYWORDS,
     "watch(addr, size, kind='write') -> int\n\nWatches [addr, addr+size) for 'write', 'read'\n"
     "or 'access' with the debug registers (4, each 1, 2, 4 or 8 aligned bytes);\n"
     "returns its id. addr may be a symbol's name."},
    {"delete", reinterpret_cast<PyCFunction>(replay_delete), METH_O,
     "delete(id)\n\nRemoves a breakpoint or watchpoint."},
    {"read", reinterpret_cast<PyCFunction>(replay_read), METH_VARARGS,
     "read(addr, size) -> bytes\n\nThe process's memory; addr may be a symbol's name.\n"
     "Raises rrx.AddressError if any of it is not mapped."},
    {"registers", reinterpret_cast<PyCFunction>(replay_registers), METH_NOARGS,
     "registers() -> dict\n\nThe current thread's general registers by name (rax, ..., rip)."},
    {"symbol", reinterpret_cast<PyCFunction>(replay_symbol), METH_O,
     "symbol(name) -> int\n\nThe address of a function or variable from the ELF symbols of the\n"
     "executable and the libraries loaded so far. Raises rrx.SymbolError if none has it."},
    {"function_at", reinterpret_cast<PyCFunction>(replay_function_at), METH_O,
     "function_at(addr) -> str or None\n\nThe name of the symbol whose extent holds addr."},
    {"checkpoint", reinterpret_cast<PyCFunction>(replay_checkpoint), METH_NOARGS,
     "checkpoint() -> int\n\nRemembers this point of the replay; returns its id."},
    {"spin_off", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(replay_spin_off)),
     METH_VARARGS | METH_KEYWORDS,
     "spin_off(live=False) -> (pid, state)\n\nCopies the current process here into a process of\n"
     "its own, left stopped by SIGSTOP and untraced (docs/spin-off.md); returns its pid and its\n"
     "state (registers, memory map, signal handlers, fds as recorded) as a dict. live=True:\n"
     "its syscalls run for real and its files are opened again. The replay stays where it is."},
    {"restart", reinterpret_cast<PyCFunction>(replay_restart), METH_O,
     "restart(id)\n\nGoes back (or forwards) to a checkpoint."},
    {"last_write", reinterpret_cast<PyCFunction>(replay_last_write), METH_VARARGS,
     "last_write(addr, size) -> Write or None\n\nThe last write to [addr, addr+size) before now\n"
     "(1 to 32 bytes; addr may be a symbol's name). Found: the replay is left at the writing\n"
     "instruction, not yet executed. None: nothing wrote it, the replay is where it was."},
    {"writes", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(replay_writes)),
     METH_VARARGS | METH_KEYWORDS,
     "writes(addr, size, start=None, end=None) -> iterator of Write\n\nEvery write to\n"
     "[addr, addr+size), in order, from event `start` (None: from now) until event `end` has\n"
     "been replayed (None: the end). The replay moves along; each step runs forwards to the\n"
     "next write."},
    {nullptr, nullptr, 0, nullptr}};

PyGetSetDef kReplayGetters[] = {
    {"pc", reinterpret_cast<getter>(replay_pc), nullptr, "The current thread's pc.", nullptr},
    {"thread", reinterpret_cast<getter>(replay_thread), nullptr,
     "Recorded id of the current thread.", nullptr},
    {"executable", reinterpret_cast<getter>(replay_executable), nullptr,
     "The trace's copy of the process's executable.", nullptr},
    {nullptr, nullptr, nullptr, nullptr, nullptr}};

PyTypeObject ReplayType = {PyVarObject_HEAD_INIT(nullptr, 0)};

}  // namespace

bool add_replay_types(PyObject* module) {
  ReplayType.tp_name = "rrx.Replay";
  ReplayType.tp_basicsize = sizeof(ReplayObject);
  ReplayType.tp_flags = Py_TPFLAGS_DEFAULT;
  ReplayType.tp_doc =
      "Replay(path=None, process=None)\n\nReplays one process of a trace (None: the latest\n"
      "trace; process: a recorded pid or the name of a program it exec'd, None: the first).\n"
      "It starts where the process first exists. Use it from the thread that opened it; as a\n"
      "context manager, or call close(): that ends every replayed process.";
  ReplayType.tp_new = PyType_GenericNew;
  ReplayType.tp_init = reinterpret_cast<initproc>(replay_init);
  ReplayType.tp_dealloc = reinterpret_cast<destructor>(replay_dealloc);
  ReplayType.tp_methods = kReplayMethods;
  ReplayType.tp_getset = kReplayGetters;

  WritesIteratorType.tp_name = "rrx._WritesIterator";
  WritesIteratorType.tp_basicsize = sizeof(WritesIterator);
  WritesIteratorType.tp_flags = Py_TPFLAGS_DEFAULT;
  WritesIteratorType.tp_doc = "Iterator over the writes to a range.";
  WritesIteratorType.tp_iter = PyObject_SelfIter;
  WritesIteratorType.tp_iternext = reinterpret_cast<iternextfunc>(writes_next);
  WritesIteratorType.tp_dealloc = reinterpret_cast<destructor>(writes_dealloc);

  StopType = PyStructSequence_NewType(&kStopDesc);
  WriteType = PyStructSequence_NewType(&kWriteDesc);
  if (!StopType || !WriteType || PyType_Ready(&ReplayType) < 0 ||
      PyType_Ready(&WritesIteratorType) < 0 || Py_AtExit(close_all_at_exit) != 0) {
    return false;
  }
  Py_INCREF(&ReplayType);
  Py_INCREF(StopType);
  Py_INCREF(WriteType);
  return PyModule_AddObject(module, "Replay", reinterpret_cast<PyObject*>(&ReplayType)) == 0 &&
         PyModule_AddObject(module, "Stop", reinterpret_cast<PyObject*>(StopType)) == 0 &&
         PyModule_AddObject(module, "Write", reinterpret_cast<PyObject*>(WriteType)) == 0;
}

}  // namespace rrx::py
