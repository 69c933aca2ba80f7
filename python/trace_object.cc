// rrx.Trace: what a trace holds (its processes, its events), read from the
// trace files without replaying anything.
#include <signal.h>
#include <sys/wait.h>

#include <memory>

#include "module.h"
#include "syscalls/syscall_table.h"
#include "trace/trace_dir.h"
#include "trace/trace_reader.h"
#include "trace_processes.h"

namespace rrx::py {

namespace {

PyTypeObject* ProcessType;
PyTypeObject* EventType;

PyStructSequence_Field kProcessFields[] = {
    {"pid", "recorded process id"},
    {"ppid", "recorded id of the process that started it (0 for the first)"},
    {"exe", "the path of the program it exec'd last, as given to execve"},
    {"argv", "arguments of that exec, a list of str"},
    {"exit_status", "its exit code, 128+N if signal N killed it, None if it did not end"},
    {nullptr, nullptr}};
PyStructSequence_Desc kProcessDesc = {"rrx.Process", "A recorded process.", kProcessFields, 5};

PyStructSequence_Field kEventFields[] = {
    {"number", "event number, from 1"},
    {"tid", "recorded id of the thread"},
    {"kind", "'syscall_entry', 'syscall_exit', 'signal', 'exec', 'new_task', 'instruction', "
             "'exit', 'schedule', 'buffer_flush', 'instrument' or 'tracer_change'"},
    {"syscall", "the syscall's name (syscall events), else None"},
    {"result", "the syscall's result (syscall_exit), else None"},
    {"signal", "the signal number (signal events), else None"},
    {nullptr, nullptr}};
PyStructSequence_Desc kEventDesc = {"rrx.Event", "One event of a trace.", kEventFields, 6};

// Set item i of a struct sequence, stealing `value`; false if it is null.
bool set(PyObject* seq, int i, PyObject* value) {
  if (!value) return false;
  PyStructSequence_SetItem(seq, i, value);
  return true;
}

PyObject* none() { Py_RETURN_NONE; }

const char* kind_name(EventKind kind) {
  switch (kind) {
    case EventKind::kSyscallEntry: return "syscall_entry";
    case EventKind::kSyscallExit: return "syscall_exit";
    case EventKind::kSignal: return "signal";
    case EventKind::kExec: return "exec";
    case EventKind::kNewTask: return "new_task";
    case EventKind::kInstruction: return "instruction";
    case EventKind::kExit: return "exit";
    case EventKind::kSchedule: return "schedule";
    case EventKind::kBufferFlush: return "buffer_flush";
    case EventKind::kInstrument: return "instrument";
    case EventKind::kTracerChange: return "tracer_change";
  }
  return "?";
}

PyObject* event_object(const Event& e) {
  PyObject* o = PyStructSequence_New(EventType);
  if (!o) return nullptr;
  bool syscall = e.kind == EventKind::kSyscallEntry || e.kind == EventKind::kSyscallExit;
  bool ok = set(o, 0, PyLong_FromUnsignedLongLong(e.seq)) && set(o, 1, PyLong_FromLong(e.tid)) &&
            set(o, 2, PyUnicode_FromString(kind_name(e.kind))) &&
            set(o, 3, syscall ? PyUnicode_FromString(syscall_name(e.syscall_no).c_str()) : none()) &&
            set(o, 4, e.kind == EventKind::kSyscallExit
                          ? PyLong_FromLongLong(static_cast<int64_t>(e.regs.rax))
                          : none()) &&
            set(o, 5, e.kind == EventKind::kSignal ? PyLong_FromLong(e.signo) : none());
  if (!ok) Py_CLEAR(o);
  return o;
}

PyObject* process_object(const ProcessInfo& p) {
  PyObject* o = PyStructSequence_New(ProcessType);
  PyObject* argv = o ? PyList_New(0) : nullptr;
  if (!argv) {
    Py_XDECREF(o);
    return nullptr;
  }
  for (const std::string& a : p.argv) {
    PyObject* s = PyUnicode_DecodeFSDefault(a.c_str());
    if (!s || PyList_Append(argv, s) != 0) {
      Py_XDECREF(s);
      Py_DECREF(argv);
      Py_DECREF(o);
      return nullptr;
    }
    Py_DECREF(s);
  }
  PyObject* status = none();
  if (p.wait_status) {
    int w = *p.wait_status;
    Py_DECREF(status);
    status = PyLong_FromLong(WIFSIGNALED(w) ? 128 + WTERMSIG(w) : WEXITSTATUS(w));
  }
  bool ok = set(o, 0, PyLong_FromLong(p.pid)) && set(o, 1, PyLong_FromLong(p.ppid)) &&
            set(o, 2, PyUnicode_DecodeFSDefault(p.exe.c_str())) && set(o, 3, argv) &&
            set(o, 4, status);
  if (!ok) Py_CLEAR(o);
  return o;
}

// ---- rrx.Trace ----

struct TraceObject {
  PyObject_HEAD
  PyObject* path;       // str
  PyObject* processes;  // list, read on first use
};

std::unique_ptr<TraceReader> open_reader(PyObject* path) {
  std::string error;
  auto reader = TraceReader::open(PyUnicode_AsUTF8(path), &error);
  if (!reader) raise(TraceError, error);
  return reader;
}

int trace_init(TraceObject* self, PyObject* args, PyObject* kwargs) {
  static const char* kKeywords[] = {"path", nullptr};
  PyObject* path = Py_None;
  if (!PyArg_ParseTupleAndKeywords(args, kwargs, "|O:Trace", const_cast<char**>(kKeywords), &path)) {
    return -1;
  }
  std::string dir;
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
  Py_XSETREF(self->path, PyUnicode_FromString(resolve_trace(dir).c_str()));
  if (!self->path) return -1;
  return open_reader(self->path) ? 0 : -1;
}

void trace_dealloc(TraceObject* self) {
  Py_XDECREF(self->path);
  Py_XDECREF(self->processes);
  Py_TYPE(self)->tp_free(reinterpret_cast<PyObject*>(self));
}

PyObject* trace_processes(TraceObject* self, void*) {
  if (!self->processes) {
    auto reader = open_reader(self->path);
    if (!reader) return nullptr;
    std::vector<ProcessInfo> found;
    std::string error;
    bool ok;
    without_gil([&] { ok = read_processes(*reader, &found, &error); });
    if (!ok) return raise(TraceError, error);
    PyObject* list = PyList_New(0);
    for (const ProcessInfo& p : found) {
      PyObject* o = list ? process_object(p) : nullptr;
      if (!o || PyList_Append(list, o) != 0) {
        Py_XDECREF(o);
        Py_XDECREF(list);
        return nullptr;
      }
      Py_DECREF(o);
    }
    self->processes = list;
  }
  Py_INCREF(self->processes);
  return self->processes;
}

// How the recording ended, from the trace's summary.
PyObject* trace_ended_by_signal(TraceObject* self, void*) {
  auto reader = open_reader(self->path);
  if (!reader) return nullptr;
  if (int sig = reader->summary().ended_by_signal) return PyLong_FromLong(sig);
  Py_RETURN_NONE;
}

PyObject* trace_cut_short(TraceObject* self, void*) {
  auto reader = open_reader(self->path);
  if (!reader) return nullptr;
  return PyBool_FromLong(reader->cut_short());
}

PyObject* trace_path(TraceObject* self, void*) {
  Py_INCREF(self->path);
  return self->path;
}

// ---- the events() iterator ----

struct EventIterator {
  PyObject_HEAD
  TraceReader* reader;
};

PyTypeObject EventIteratorType = {PyVarObject_HEAD_INIT(nullptr, 0)};

PyObject* events_next(EventIterator* self) {
  if (!self->reader) return nullptr;
  Event e;
  std::string error;
  if (self->reader->next(&e, &error)) return event_object(e);
  delete self->reader;
  self->reader = nullptr;
  if (!error.empty()) return raise(TraceError, error);
  return nullptr;  // StopIteration
}

void events_dealloc(EventIterator* self) {
  delete self->reader;
  Py_TYPE(self)->tp_free(reinterpret_cast<PyObject*>(self));
}

PyObject* trace_events(TraceObject* self, PyObject*) {
  auto reader = open_reader(self->path);
  if (!reader) return nullptr;
  EventIterator* it = PyObject_New(EventIterator, &EventIteratorType);
  if (!it) return nullptr;
  it->reader = reader.release();
  return reinterpret_cast<PyObject*>(it);
}

PyObject* trace_repr(TraceObject* self) { return PyUnicode_FromFormat("rrx.Trace(%R)", self->path); }

PyGetSetDef kTraceGetters[] = {
    {"path", reinterpret_cast<getter>(trace_path), nullptr, "The trace directory (str).", nullptr},
    {"processes", reinterpret_cast<getter>(trace_processes), nullptr,
     "The recorded processes in the order they started (list of rrx.Process);\n"
     "the first is the one rrx.record() started.",
     nullptr},
    {"ended_by_signal", reinterpret_cast<getter>(trace_ended_by_signal), nullptr,
     "The signal that ended the recording (SIGTERM or SIGHUP to the recorder, Ctrl-C in\n"
     "rrx.record(): the program was killed after the last event), None if it ended by itself.",
     nullptr},
    {"cut_short", reinterpret_cast<getter>(trace_cut_short), nullptr,
     "True if the recorder died before finishing the trace: its events end early.", nullptr},
    {nullptr, nullptr, nullptr, nullptr, nullptr}};

PyMethodDef kTraceMethods[] = {
    {"events", reinterpret_cast<PyCFunction>(trace_events), METH_NOARGS,
     "events() -> iterator of rrx.Event\n\nEvery event of the trace, in order, read lazily."},
    {nullptr, nullptr, 0, nullptr}};

PyTypeObject TraceType = {PyVarObject_HEAD_INIT(nullptr, 0)};

}  // namespace

bool add_trace_types(PyObject* module) {
  TraceType.tp_name = "rrx.Trace";
  TraceType.tp_basicsize = sizeof(TraceObject);
  TraceType.tp_flags = Py_TPFLAGS_DEFAULT;
  TraceType.tp_doc =
      "Trace(path=None)\n\nA recorded trace; None: the latest one. Raises rrx.TraceError if it\n"
      "is missing or damaged.";
  TraceType.tp_new = PyType_GenericNew;
  TraceType.tp_init = reinterpret_cast<initproc>(trace_init);
  TraceType.tp_dealloc = reinterpret_cast<destructor>(trace_dealloc);
  TraceType.tp_getset = kTraceGetters;
  TraceType.tp_methods = kTraceMethods;
  TraceType.tp_repr = reinterpret_cast<reprfunc>(trace_repr);

  EventIteratorType.tp_name = "rrx._EventIterator";
  EventIteratorType.tp_basicsize = sizeof(EventIterator);
  EventIteratorType.tp_flags = Py_TPFLAGS_DEFAULT;
  EventIteratorType.tp_doc = "Iterator over the events of a trace.";
  EventIteratorType.tp_iter = PyObject_SelfIter;
  EventIteratorType.tp_iternext = reinterpret_cast<iternextfunc>(events_next);
  EventIteratorType.tp_dealloc = reinterpret_cast<destructor>(events_dealloc);

  ProcessType = PyStructSequence_NewType(&kProcessDesc);
  EventType = PyStructSequence_NewType(&kEventDesc);
  if (!ProcessType || !EventType || PyType_Ready(&TraceType) < 0 ||
      PyType_Ready(&EventIteratorType) < 0) {
    return false;
  }
  Py_INCREF(&TraceType);
  Py_INCREF(ProcessType);
  Py_INCREF(EventType);
  return PyModule_AddObject(module, "Trace", reinterpret_cast<PyObject*>(&TraceType)) == 0 &&
         PyModule_AddObject(module, "Process", reinterpret_cast<PyObject*>(ProcessType)) == 0 &&
         PyModule_AddObject(module, "Event", reinterpret_cast<PyObject*>(EventType)) == 0;
}

}  // namespace rrx::py
