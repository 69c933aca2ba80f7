#include "core/proc_status.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>

namespace rrx {

bool read_signal_sets(pid_t tid, SignalSets* sets) {
  std::string path = "/proc/" + std::to_string(tid) + "/status";
  FILE* f = fopen(path.c_str(), "r");
  if (!f) return false;
  char line[256];
  int found = 0;
  unsigned long long value;
  while (fgets(line, sizeof line, f)) {
    if (sscanf(line, "SigBlk: %llx", &value) == 1) {
      sets->blocked = value;
      ++found;
    } else if (sscanf(line, "SigCgt: %llx", &value) == 1) {
      sets->caught = value;
      ++found;
    } else if (sscanf(line, "SigIgn: %llx", &value) == 1) {
      sets->ignored = value;
      ++found;
    } else if (strncmp(line, "NStgid:", 7) == 0) {
      const char* last = strrchr(line, '\t');
      sets->pid_namespace_init = last && strtol(last + 1, nullptr, 10) == 1 && strchr(line + 7, '\t') != last;
    }
  }
  fclose(f);
  return found == 3;
}

bool read_stat_field(pid_t tid, int n, std::string* value) {
  std::ifstream in("/proc/" + std::to_string(tid) + "/stat");
  std::string line;
  if (n < 3 || !std::getline(in, line)) return false;
  size_t paren = line.rfind(')');  // the name may hold ')' or spaces
  if (paren == std::string::npos || paren + 2 > line.size()) return false;
  std::istringstream fields(line.substr(paren + 2));  // from field 3, the state
  for (int i = 3; fields >> *value; ++i)
    if (i == n) return true;
  return false;
}

}  // namespace rrx
