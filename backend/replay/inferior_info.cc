#include "replay/inferior_info.h"

#include <elf.h>

#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <fstream>

#include "replay/program_names.h"
#include "replay/replay_session.h"
#include "replay/replay_task.h"

namespace rrx {

namespace {

std::string hex(uint64_t v) {
  char buf[32];
  snprintf(buf, sizeof buf, "0x%" PRIx64, v);
  return buf;
}

uint64_t auxv_value(const std::vector<uint8_t>& auxv, uint64_t type) {
  for (size_t i = 0; i + 16 <= auxv.size(); i += 16) {
    uint64_t pair[2];
    memcpy(pair, auxv.data() + i, 16);
    if (pair[0] == type) return pair[1];
  }
  return 0;
}

std::string xml_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '&': out += "&amp;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

// The r_debug the dynamic linker publishes through the executable's
// DT_DEBUG entry; 0 before it has run.
uint64_t find_r_debug(Task& task, const std::vector<uint8_t>& auxv) {
  uint64_t phdr = auxv_value(auxv, AT_PHDR), phnum = auxv_value(auxv, AT_PHNUM);
  if (!phdr || phnum > 256) return 0;
  std::vector<Elf64_Phdr> headers(phnum);
  if (!task.read_mem(phdr, headers.data(), phnum * sizeof(Elf64_Phdr))) return 0;
  uint64_t bias = 0, dynamic = 0;
  for (const Elf64_Phdr& h : headers) {
    if (h.p_type == PT_PHDR) bias = phdr - h.p_vaddr;
  }
  for (const Elf64_Phdr& h : headers) {
    if (h.p_type == PT_DYNAMIC) dynamic = bias + h.p_vaddr;
  }
  for (int i = 0; dynamic && i < 1024; ++i) {
    Elf64_Dyn d;
    if (!task.read_mem(dynamic + i * sizeof d, &d, sizeof d) || d.d_tag == DT_NULL) break;
    if (d.d_tag == DT_DEBUG) return d.d_un.d_ptr;
  }
  return 0;
}

}  // namespace

int32_t find_process_by_name(const ReplaySession& session, const std::string& name) {
  for (int32_t tid : session.tids()) {
    const ReplayTask* t = session.task(tid);
    if (t && names_program(name, t->exe_saved_name, t->initial_stack)) {
      return tid;
    }
  }
  return 0;
}

std::vector<uint8_t> process_auxv(const ReplaySession& session) {
  const ReplayTask* t = session.task(session.focus());
  std::vector<uint8_t> auxv;
  if (!t) return auxv;
  const std::string& stack = t->initial_stack.data;
  // argc, argv[argc], NULL, envp..., NULL, then (type, value) pairs.
  size_t at = 0;
  uint64_t argc;
  if (stack.size() < 8) return auxv;
  memcpy(&argc, stack.data(), 8);
  at = 8 * (argc + 2);
  for (uint64_t v = 1; at + 8 <= stack.size() && v != 0; at += 8) memcpy(&v, stack.data() + at, 8);
  for (; at + 16 <= stack.size(); at += 16) {
    auxv.insert(auxv.end(), stack.begin() + at, stack.begin() + at + 16);
    uint64_t type;
    memcpy(&type, stack.data() + at, 8);
    if (type == AT_NULL) break;
  }
  return auxv;
}

std::string process_exe_path(ReplaySession& session) {
  const ReplayTask* t = session.task(session.focus());
  if (!t) return "";
  return session.saved_file_path(t->exe_saved_name);
}

std::string svr4_library_list(ReplaySession& session) {
  Task* task = session.focus_task();
  if (!task) return "";
  uint64_t r_debug = find_r_debug(*task, process_auxv(session));
  uint64_t map = 0;
  if (!r_debug || !task->read_mem(r_debug + 8, &map, 8) || !map) {
    return "<library-list-svr4 version=\"1.0\"/>";
  }
  std::string xml = "<library-list-svr4 version=\"1.0\" main-lm=\"" + hex(map) + "\">";
  for (int count = 0; map && count < 4096; ++count) {
    uint64_t lm[4];  // l_addr, l_name, l_ld, l_next
    if (!task->read_mem(map, lm, sizeof lm)) break;
    std::string name = lm[1] ? task->read_string(lm[1]) : "";
    if (!name.empty()) {
      xml += "<library name=\"" + xml_escape(name) + "\" lm=\"" + hex(map) + "\" lmid=\"0x0\" l_addr=\"" +
             hex(lm[0]) + "\" l_ld=\"" + hex(lm[2]) + "\"/>";
    }
    map = lm[3];
  }
  return xml + "</library-list-svr4>";
}

bool find_memory_region(ReplaySession& session, uint64_t address, MemoryRegion* region) {
  Task* task = session.focus_task();
  if (!task) return false;
  std::ifstream maps("/proc/" + std::to_string(task->tid()) + "/maps");
  std::string line;
  uint64_t previous_end = 0;
  while (std::getline(maps, line)) {
    uint64_t start, end;
    char perms[8] = {};
    int name_at = 0;
    if (sscanf(line.c_str(), "%" SCNx64 "-%" SCNx64 " %7s %*s %*s %*s %n", &start, &end, perms,
               &name_at) < 3) {
      continue;
    }
    if (address < start) {
      *region = {previous_end, start - previous_end, false};
      return true;
    }
    if (address < end) {
      region->start = start;
      region->size = end - start;
      region->mapped = true;
      region->readable = perms[0] == 'r';
      region->writable = perms[1] == 'w';
      region->executable = perms[2] == 'x';
      region->name = name_at > 0 && name_at < static_cast<int>(line.size()) ? line.substr(name_at) : "";
      return true;
    }
    previous_end = end;
  }
  *region = {previous_end, ~uint64_t{0} - previous_end, false};
  return true;
}

}  // namespace rrx
