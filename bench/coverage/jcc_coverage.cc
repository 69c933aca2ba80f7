// jcc_coverage - conditional branches a program executes vs those the
// dynamic tick patcher patches, per object and encoding (jcc_tracer.h).
//
//   jcc_coverage [--counts [--sample N]] [--reasons] -- PROGRAM ARGS...
//
// Prints, per object and for rel8 and rel32 apart: the jccs found, the
// distinct ones executed and the share of those patched; with --counts
// also every execution (one ptrace stop each) and the share patched. With
// --sample N, patched sites are counted only for 1 in N of them (picked by
// offset, scaled by N), unpatched ones always: an estimate, ~N times fewer
// stops. --reasons breaks the unpatched jccs down by what stopped the
// scanner (classify()). The program's stdout goes to a file and is
// compared with a native run's; the exit status is 1 if the traced run
// failed or its output differs.
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "jcc_tracer.h"

namespace {

using rrx::coverage::Object;
using rrx::coverage::Tally;
using rrx::coverage::Tracer;

std::string read_file(const std::string& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string short_name(const std::string& p) {
  size_t s = p.rfind('/');
  return s == std::string::npos ? p : p.substr(s + 1);
}

void print_row(const char* name, bool rel32, const Tally& t, bool counts) {
  printf("%-38s %-5s %7lu %8lu %6.1f%%", name, rel32 ? "rel32" : "rel8", t.found, t.executed,
         t.executed ? 100.0 * t.executed_patched / t.executed : 0);
  if (counts)
    printf(" %11lu %11lu %6.1f%%", t.executions, t.executions_patched,
           t.executions ? 100.0 * t.executions_patched / t.executions : 0);
  printf("\n");
}

}  // namespace

int main(int argc, char** argv) {
  Tracer t;
  bool reasons = false;
  int i = 1;
  for (; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--counts") t.counts = true;
    else if (a == "--sample" && i + 1 < argc) t.sample = std::max(1ul, strtoul(argv[++i], nullptr, 0));
    else if (a == "--reasons") reasons = true;
    else if (a == "--") { ++i; break; }
    else break;
  }
  if (i >= argc) {
    fprintf(stderr, "usage: %s [--counts [--sample N]] [--reasons] -- PROGRAM ARGS...\n", argv[0]);
    return 2;
  }
  char** prog = argv + i;
  const std::string traced_out = "/tmp/jcc_coverage." + std::to_string(getpid()) + ".traced";
  const std::string native_out = "/tmp/jcc_coverage." + std::to_string(getpid()) + ".native";

  auto t0 = std::chrono::steady_clock::now();
  std::string how;
  bool ok = t.run(prog, traced_out, &how);
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  pid_t n = fork();
  if (n == 0) {
    int fd = open(native_out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(fd, 1);
    execv(prog[0], prog);
    _exit(127);
  }
  int st;
  waitpid(n, &st, 0);
  bool same = read_file(traced_out) == read_file(native_out);
  unlink(traced_out.c_str());
  unlink(native_out.c_str());
  printf("traced run: %s, %.1f s, %lu stops; output %s the native run's\n\n", how.c_str(), secs,
         t.stops, same ? "same as" : "DIFFERS from");

  printf("%-38s %-5s %7s %8s %7s", "object", "jcc", "found", "executed", "patched");
  if (t.counts)
    printf(" %11s %11s %7s", t.sample > 1 ? "~executions" : "executions", "patched", "");
  printf("\n");
  Tally total[2];
  for (const auto& [path, o] : t.objects) {
    for (bool rel32 : {false, true}) {
      Tally x = t.tally(o, rel32);
      print_row(short_name(path).c_str(), rel32, x, t.counts);
      Tally& s = total[rel32];
      s.found += x.found;
      s.executed += x.executed;
      s.executed_patched += x.executed_patched;
      s.executions += x.executions;
      s.executions_patched += x.executions_patched;
    }
  }
  for (bool rel32 : {false, true}) print_row("TOTAL", rel32, total[rel32], t.counts);

  if (reasons) {
    printf("\nunpatched jccs by reason (the scanner's SkipReason counts in brackets)\n");
    for (const auto& [path, o] : t.objects) {
      // reason -> all, executed, executions
      std::map<std::string, std::array<uint64_t, 3>> why;
      for (size_t k = 0; k < o.jccs.size(); ++k) {
        if (o.patched[k]) continue;
        const auto& in = o.insns[o.jccs[k]];
        auto& w = why[std::string(in.rel32 ? "rel32 " : "rel8  ") + rrx::coverage::classify(o, o.jccs[k])];
        ++w[0];
        w[1] += o.hits[k] != 0;
        w[2] += o.hits[k];
      }
      uint64_t sk[4] = {};
      for (const auto& seg : o.scan.segments)
        for (int r = 0; r < 4; ++r) sk[r] += seg.skipped[r];
      uint64_t sys_found = 0, sys_patched = 0;
      for (const auto& seg : o.scan.segments) {
        sys_found += seg.syscall_found;
        sys_patched += seg.syscall_patched;
      }
      // (The scanner's counts cover jccs and syscalls together.)
      printf("\n%s [target-in-range %lu, unrelocatable %lu, sigreturn %lu, rip-rel %lu; "
             "syscall sites %lu/%lu]\n",
             short_name(path).c_str(), sk[0], sk[1], sk[2], sk[3], sys_patched, sys_found);
      printf("  %-52s %7s %8s%s\n", "reason", "all", "executed", t.counts ? "  executions" : "");
      for (const auto& [w, c] : why) {
        printf("  %-52s %7lu %8lu", w.c_str(), c[0], c[1]);
        if (t.counts) printf(" %11lu", c[2]);
        printf("\n");
      }
    }
  }
  return ok && same ? 0 : 1;
}
