// The rrx module: exceptions, rrx.record(), and the types of the other
// files (trace_object.cc, replay_object.cc). The script's process is the
// tracer: a recording runs in a child process of it (the recorder pins
// itself to a CPU and catches signals, which an interpreter must not
// inherit); a replay runs in the calling thread (replay_object.cc).
#include <dlfcn.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "core/hw_tick_check.h"
#include "core/hw_tick_source.h"
#include "core/spawn.h"
#include "module.h"
#include "record/record_session.h"
#include "trace/trace_dir.h"

namespace rrx::py {

PyObject* Error;
PyObject* TraceError;
PyObject* RecordError;
PyObject* ReplayError;
PyObject* AddressError;
PyObject* SymbolError;

PyObject* raise(PyObject* type, const std::string& message) {
  PyErr_SetString(type, message.c_str());
  return nullptr;
}

void without_gil(const std::function<void()>& work) {
  Py_BEGIN_ALLOW_THREADS
  work();
  Py_END_ALLOW_THREADS
}

bool InterruptPoll::operator()() {
  if (raised_) return true;
  timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  long long ns = now.tv_sec * 1000000000LL + now.tv_nsec;
  // Taking the GIL per replayed event would cost more than the event.
  if (ns - last_check_ns_ < 20000000) return false;
  last_check_ns_ = ns;
  PyGILState_STATE state = PyGILState_Ensure();
  raised_ = PyErr_CheckSignals() != 0;
  PyGILState_Release(state);
  return raised_;
}

namespace {

bool parse_options(PyObject* kwargs, RecordOptions* options, bool* buffer) {
  if (!kwargs) return true;
  PyObject *key, *value;
  Py_ssize_t pos = 0;
  while (PyDict_Next(kwargs, &pos, &key, &value)) {
    std::string name = PyUnicode_AsUTF8(key);
    if (name == "chaos" || name == "unbound" || name == "syscall_buffer") {
      int on = PyObject_IsTrue(value);
      if (on < 0) return false;
      (name == "chaos" ? options->chaos : name == "unbound" ? options->unbound : *buffer) = on;
    } else if (name == "ticks") {
      const char* source = PyUnicode_Check(value) ? PyUnicode_AsUTF8(value) : nullptr;
      std::string s = source ? source : "";
      // auto: hardware ticks where the counter passes the self-check.
      if (s == "auto") s = check_hw_ticks().verdict.usable ? "hw" : "soft";
      if (s != "soft" && s != "static" && s != "none" && s != "hw") {
        raise(RecordError, "ticks must be 'auto', 'soft', 'static', 'none' or 'hw'");
        return false;
      }
      options->ticks = s;
    } else if (name == "slice_ticks") {
      unsigned long long n = PyLong_Check(value) ? PyLong_AsUnsignedLongLong(value) : 0;
      if (PyErr_Occurred() || n == 0) {
        PyErr_Clear();
        raise(RecordError, "slice_ticks must be a positive number of ticks");
        return false;
      }
      options->slice_ticks = n;
    } else {
      raise(RecordError, "unknown record option '" + name +
                             "' (chaos, unbound, syscall_buffer, ticks, slice_ticks)");
      return false;
    }
  }
  return true;
}

// Runs the recorder in a child; its error line, if any, comes back
// through `pipe_fd`. Never returns.
[[noreturn]] void recorder_child(RecordOptions& options, int pipe_fd) {
  // The program starts with the script's signal dispositions, except those
  // the interpreter itself ignores (SIGPIPE, SIGXFSZ), which it puts back
  // for its children as subprocess does.
  signal(SIGPIPE, SIG_DFL);
  signal(SIGXFSZ, SIG_DFL);
  options.ignored_signals = ignored_signals_now();
  // Ctrl-C is the program's to handle; the recorder finishes the trace.
  signal(SIGINT, SIG_IGN);
  signal(SIGQUIT, SIG_IGN);
  RecordResult result = record(options);
  if (!result.ok) {
    ssize_t ignored = write(pipe_fd, result.error.data(), result.error.size());
    (void)ignored;
    _exit(1);
  }
  _exit(0);
}

PyObject* py_record(PyObject*, PyObject* args, PyObject* kwargs) {
  PyObject* argv_obj = nullptr;
  PyObject* dir_obj = Py_None;
  if (!PyArg_ParseTuple(args, "O|O:record", &argv_obj, &dir_obj)) return nullptr;
  if (kwargs && PyDict_GetItemString(kwargs, "trace_dir")) {
    dir_obj = PyDict_GetItemString(kwargs, "trace_dir");
    PyDict_DelItemString(kwargs, "trace_dir");
  }
  RecordOptions options;
  bool buffer = true;
  if (!parse_options(kwargs, &options, &buffer)) return nullptr;
  // The PMU counts the buffering engine's branches too, which differ in
  // replay: hardware ticks record without in-process buffering.
  if (is_hw_tick_source(options.ticks)) buffer = false;
  PyObject* seq = PySequence_Fast(argv_obj, "argv must be a list of strings");
  if (!seq) return nullptr;
  for (Py_ssize_t i = 0; i < PySequence_Fast_GET_SIZE(seq); ++i) {
    PyObject* item = PySequence_Fast_GET_ITEM(seq, i);
    PyObject* text = PyOS_FSPath(item);
    const char* s = text && PyUnicode_Check(text) ? PyUnicode_AsUTF8(text) : nullptr;
    if (!s) {
      Py_XDECREF(text);
      Py_DECREF(seq);
      PyErr_Clear();
      return raise(RecordError, "argv must be a list of strings");
    }
    options.argv.push_back(s);
    Py_DECREF(text);
  }
  Py_DECREF(seq);
  if (options.argv.empty()) return raise(RecordError, "no program given");
  options.buffer_syscalls = buffer;
  std::string root, error;
  if (dir_obj != Py_None) {
    PyObject* path = PyOS_FSPath(dir_obj);
    if (!path || !PyUnicode_Check(path)) {
      Py_XDECREF(path);
      PyErr_Clear();
      return raise(RecordError, "trace_dir must be a path");
    }
    options.trace_dir = PyUnicode_AsUTF8(path);
    Py_DECREF(path);
    if (access(options.trace_dir.c_str(), F_OK) == 0) {
      return raise(RecordError, options.trace_dir + " already exists");
    }
  } else {
    root = default_trace_root();
    options.trace_dir = next_trace_dir(root, options.argv[0], &error);
    if (options.trace_dir.empty()) return raise(RecordError, error);
  }

  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return raise(RecordError, std::string("pipe: ") + strerror(errno));
  PyOS_BeforeFork();
  pid_t child = fork();
  if (child == 0) {
    close(fds[0]);
    recorder_child(options, fds[1]);
  }
  PyOS_AfterFork_Parent();
  close(fds[1]);
  if (child < 0) {
    close(fds[0]);
    return raise(RecordError, std::string("fork: ") + strerror(errno));
  }
  // Wait without the GIL; Ctrl-C (or any signal handler that raises) ends
  // the recording as SIGTERM to `rrx record` does, then propagates.
  int status = 0;
  bool interrupted = false;
  for (;;) {
    pid_t done;
    without_gil([&] {
      for (int i = 0; i < 50 && (done = waitpid(child, &status, WNOHANG)) == 0; ++i) usleep(2000);
    });
    if (done == child || (done < 0 && errno != EINTR)) break;
    if (!interrupted && PyErr_CheckSignals() != 0) {
      interrupted = true;
      kill(child, SIGTERM);
    }
  }
  std::string message;
  char buf[512];
  for (ssize_t n; (n = read(fds[0], buf, sizeof buf)) > 0;) message.append(buf, n);
  close(fds[0]);
  if (interrupted) return nullptr;  // the KeyboardInterrupt
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return raise(RecordError, message.empty() ? "the recorder died" : message);
  }
  if (!root.empty() && !update_latest_trace(root, options.trace_dir, &error)) {
    PyErr_WarnEx(PyExc_RuntimeWarning, error.c_str(), 1);
  }
  return PyUnicode_FromString(options.trace_dir.c_str());
}

PyMethodDef kMethods[] = {
    {"record", reinterpret_cast<PyCFunction>(reinterpret_cast<void (*)()>(py_record)),
     METH_VARARGS | METH_KEYWORDS,
     "record(argv, trace_dir=None, **options) -> str\n\n"
     "Records argv (a program and its arguments) and every process it starts,\n"
     "and returns the trace directory. Without trace_dir the trace goes where\n"
     "`rrx record` puts it ($RRX_TRACE_DIR, ...) and becomes the latest trace.\n"
     "Options: chaos=True (random short time slices), ticks='soft'|'static'|\n"
     "'none'|'hw' (default 'auto': hw where the CPU's counter works),\n"
     "slice_ticks=N, unbound=True (not pinned to one CPU),\n"
     "syscall_buffer=False (no in-process syscall buffering). The program's\n"
     "exit status is in Trace(path).processes[0].exit_status. Ctrl-C ends the\n"
     "recording (the program is killed, the trace finished) and raises\n"
     "KeyboardInterrupt. Raises rrx.RecordError if it cannot record."},
    {nullptr, nullptr, 0, nullptr}};

PyModuleDef kModule = {
    PyModuleDef_HEAD_INIT, "rrx",
    "Record Linux x86-64 programs and drive their replays from Python.\n\n"
    "rrx.record() records a program; rrx.Trace lists what a trace holds;\n"
    "rrx.Replay replays one process of it, forwards and backwards, with\n"
    "breakpoints, watchpoints and the write queries last_write() and\n"
    "writes(). This process is the tracer. Every failure raises rrx.Error\n"
    "or one of its subclasses.",
    -1, kMethods};

bool add_exception(PyObject* module, const char* name, PyObject* base, const char* doc,
                   PyObject** out) {
  std::string qualified = std::string("rrx.") + name;
  *out = PyErr_NewExceptionWithDoc(qualified.c_str(), doc, base, nullptr);
  if (!*out) return false;
  Py_INCREF(*out);
  return PyModule_AddObject(module, name, *out) == 0;
}

}  // namespace

}  // namespace rrx::py

PyMODINIT_FUNC PyInit_rrx() {
  using namespace rrx::py;
  PyObject* m = PyModule_Create(&kModule);
  if (!m) return nullptr;
  if (!add_exception(m, "Error", nullptr, "Every error rrx raises.", &Error) ||
      !add_exception(m, "TraceError", Error, "A trace is missing, damaged or unreadable.",
                     &TraceError) ||
      !add_exception(m, "RecordError", Error, "A recording could not start or failed.",
                     &RecordError) ||
      !add_exception(m, "ReplayError", Error, "A replay failed or was used wrongly.",
                     &ReplayError) ||
      !add_exception(m, "AddressError", Error,
                     "Memory that is not mapped, or a range that cannot be watched.",
                     &AddressError) ||
      !add_exception(m, "SymbolError", Error,
                     "A name no ELF file of the replayed process defines.", &SymbolError) ||
      !add_trace_types(m) || !add_replay_types(m)) {
    Py_DECREF(m);
    return nullptr;
  }
  return m;
}
