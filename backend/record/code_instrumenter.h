// Code patching while recording: patches the conditional branches of every
// file-backed executable mapping of the recorded processes so they count
// into the tick page (dynamic ticks), and/or its `syscall` instructions so
// they offer each call to the buffering engine first (syscall buffering);
// backend/instrument/ decides what to patch and makes the bytes. Each step
// is described as an `instrument` event that replay repeats without
// decoding anything.
//
// Per address space it keeps the stub areas it mapped and the map from
// stub addresses back to program instructions (for signals that arrive
// inside instrumentation). Threads share their process's; a fork copies
// it; exec starts over.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/task.h"
#include "instrument/branch_sites.h"
#include "instrument/patch_file.h"
#include "instrument/patch_map.h"
#include "trace/event.h"
#include "trace/trace_writer.h"

namespace rrx {

class CodeInstrumenter {
 public:
  struct Options {
    // Patch conditional branches to count ticks (not in objects the rrx
    // GCC plugin instrumented).
    bool jcc_sites = false;
    // Patch syscalls to call the buffering engine (in every object).
    bool syscall_sites = false;
  };
  CodeInstrumenter(TraceWriter& writer, const Options& options);
  ~CodeInstrumenter();

  // A new image in process `tgid`: the old stubs are gone.
  void on_exec(pid_t tgid);
  // `child` is a new process: a copy of the parent's address space, or
  // (vfork, CLONE_VM) the same one.
  void on_new_process(pid_t parent, pid_t child, bool shares_memory);
  void on_process_gone(pid_t tgid);
  // [lo, hi) of process `tgid` was unmapped: code mapped there later is
  // patched anew.
  void on_unmap(pid_t tgid, uint64_t lo, uint64_t hi);

  // Patches the file-backed, private, executable mappings of `task`'s
  // process (`tgid`) that overlap [lo, hi) and were not patched yet, and
  // appends one `instrument` event per patched mapping to *events (the
  // caller numbers and emits them). Code that cannot be patched runs
  // uncounted; false (one line in *error) only if the tracee could not be
  // written or the trace could not take the patch.
  bool instrument(Task& task, pid_t tgid, uint64_t lo, uint64_t hi, std::vector<Event>* events,
                  std::string* error);

  // Whether `pc` in process `tgid` is instrumentation glue (the jump into a
  // stub, the counting sequence, the trap block): a thread there must be
  // moved on before a signal is delivered to it.
  bool in_glue(pid_t tgid, uint64_t pc) const;
  // Whether `pc` is anywhere in a stub (glue, or a program instruction
  // relocated there), not at a program instruction's own address.
  bool in_stub(pid_t tgid, uint64_t pc) const;

  // One line for the user: how many conditional branches and syscall sites
  // were patched, of how many in the files decoded now; "" if nothing was
  // instrumented.
  std::string summary() const;

 private:
  struct AddressSpace;
  struct Totals;
  struct Patch;
  AddressSpace& space(pid_t tgid);
  std::shared_ptr<const Patch> make_patch(Task& task, const struct Mapping& m,
                                          const std::vector<struct Mapping>& maps,
                                          std::string* error);
  bool emit(const struct Mapping& m, const uint8_t* file, size_t file_size,
            const instrument::BranchSite* sites, size_t count, uint64_t stubs_at, uint64_t room,
            instrument::PatchMap* map, instrument::PatchFileLayout* layout,
            const std::string& cached_file, std::string* saved_name, std::string* error);
  std::string save_blob(const std::string& blob, std::string* error);

  TraceWriter& writer_;
  const bool jcc_sites_, syscall_sites_;
  std::map<pid_t, std::shared_ptr<AddressSpace>> spaces_;
  // Patches made, by file identity, placement and stub address: every run
  // of a program maps the same files at the same addresses.
  std::map<std::string, std::shared_ptr<const Patch>> patches_;
  // Scans, by file identity (device, inode, size, mtime).
  std::map<std::string, std::shared_ptr<const instrument::ScanResult>> scans_;
  std::unique_ptr<Totals> totals_;
};

}  // namespace rrx
