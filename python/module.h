// What the parts of the rrx Python module share: its exception types, the
// types each file defines, and running engine code without the GIL.
#pragma once

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <functional>
#include <string>

namespace rrx::py {

// rrx.Error and its subclasses (rrx_module.cc).
extern PyObject* Error;
extern PyObject* TraceError;   // missing, damaged or unreadable trace
extern PyObject* RecordError;  // recording could not start or failed
extern PyObject* ReplayError;  // replay failed or was used wrongly
extern PyObject* AddressError; // memory that cannot be read or watched
extern PyObject* SymbolError;  // a name no loaded ELF file defines

// Sets `type` with one line of text; returns nullptr for `return raise(...)`.
PyObject* raise(PyObject* type, const std::string& message);

// Runs `work` with the GIL released.
void without_gil(const std::function<void()>& work);

// A poll for engine loops running without the GIL: true once a signal
// handler raised (Ctrl-C: KeyboardInterrupt). It takes the GIL only every
// few milliseconds; the exception stays set for the caller to return.
class InterruptPoll {
 public:
  bool operator()();
  bool raised() const { return raised_; }

 private:
  bool raised_ = false;
  long long last_check_ns_ = 0;
};

// Registration of each file's types into the module; false on error.
bool add_trace_types(PyObject* module);
bool add_replay_types(PyObject* module);

}  // namespace rrx::py
