// How many of the conditional branches a real program executes the
// dynamic tick patcher counts, per object and per encoding (short jcc
// rel8, near jcc rel32). The program runs natively, single-stepped under
// ptrace; every executed jcc (decoded with Zydis at the pc) is looked up
// in the scan of the file it belongs to. The patched sites count exactly
// (unit.instrument.* checks that), so "patched" here is "counted".
//
// python3 is too big to single-step (~30 us a step): its case uses
// bench/coverage/jcc_tracer.h instead, an int3 on every jcc (one stop per
// execution); bench/coverage/jcc_coverage gives the same tables for any
// program, and the reasons of the unpatched jccs.
#include <Zydis/Zydis.h>
#include <gtest/gtest.h>
#include <sys/ptrace.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "core/cpu_binding.h"
#include "core/proc_maps.h"
#include "instrument/branch_sites.h"
#include "instrument/site_cache.h"
#include "jcc_tracer.h"

namespace {

using rrx::Mapping;

// The file-backed executable mappings of `pid`.
std::vector<Mapping> file_mappings(pid_t pid) {
  std::vector<Mapping> out;
  for (Mapping& m : rrx::read_mappings(pid)) {
    if (m.exec && m.inode != 0 && !m.path.empty()) out.push_back(std::move(m));
  }
  return out;
}

struct Counts {
  uint64_t rel8 = 0, rel8_counted = 0, rel32 = 0, rel32_counted = 0;
};

// Single-steps `argv` to its end; executed jccs per object.
std::map<std::string, Counts> run_and_count(const std::vector<const char*>& argv) {
  rrx::bind_to_cpu(-1);  // a ptrace stop costs several times more across CPUs
  pid_t pid = fork();
  if (pid == 0) {
    ptrace(PTRACE_TRACEME, 0, nullptr, nullptr);
    freopen("/dev/null", "w", stdout);
    execv(argv[0], const_cast<char* const*>(argv.data()));
    _exit(127);
  }
  int status;
  waitpid(pid, &status, 0);
  ZydisDecoder decoder;
  ZydisDecoderInit(&decoder, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
  std::vector<Mapping> maps;
  std::map<std::string, std::set<uint64_t>> sites;  // jcc file offsets, by path
  std::map<std::string, Counts> counts;
  while (WIFSTOPPED(status)) {
    user_regs_struct regs;
    ptrace(PTRACE_GETREGS, pid, nullptr, &regs);
    uint8_t bytes[16];
    for (int i = 0; i < 2; ++i) {
      long word = ptrace(PTRACE_PEEKTEXT, pid, regs.rip + 8 * i, nullptr);
      memcpy(bytes + 8 * i, &word, 8);
    }
    ZydisDecodedInstruction in;
    if (ZYAN_SUCCESS(ZydisDecoderDecodeInstruction(&decoder, nullptr, bytes, sizeof bytes, &in)) &&
        in.meta.category == ZYDIS_CATEGORY_COND_BR && in.mnemonic != ZYDIS_MNEMONIC_JRCXZ &&
        in.mnemonic != ZYDIS_MNEMONIC_LOOP && in.mnemonic != ZYDIS_MNEMONIC_LOOPE &&
        in.mnemonic != ZYDIS_MNEMONIC_LOOPNE) {
      const Mapping* m = nullptr;
      for (int attempt = 0; attempt < 2 && !m; ++attempt) {
        for (const Mapping& x : maps) {
          if (regs.rip >= x.start && regs.rip < x.end) m = &x;
        }
        if (!m) maps = file_mappings(pid);
      }
      if (m) {
        if (!sites.count(m->path)) {
          rrx::instrument::ScanResult scan;
          std::set<uint64_t>& s = sites[m->path];
          if (rrx::instrument::load_or_scan(m->path, &scan)) {
            for (const auto& site : scan.sites) s.insert(site.jcc_offset());
          }
        }
        uint64_t offset = regs.rip - m->start + m->offset;
        bool counted = sites[m->path].count(offset) != 0;
        Counts& c = counts[m->path];
        if (in.raw.imm[0].size == 8) {
          ++c.rel8;
          c.rel8_counted += counted;
        } else {
          ++c.rel32;
          c.rel32_counted += counted;
        }
      }
    }
    ptrace(PTRACE_SINGLESTEP, pid, nullptr, nullptr);
    waitpid(pid, &status, 0);
  }
  return counts;
}

TEST(BranchCoverage, ExecutedBranchesOfASmallProgramAreCounted) {
  const char* program = "/bin/ls";
  if (access(program, X_OK) != 0) GTEST_SKIP() << "SKIP: " << program << " is missing";
  auto counts = run_and_count({program, "-d", "/", nullptr});
  ASSERT_FALSE(counts.empty());
  Counts all;
  for (const auto& [path, c] : counts) {
    printf("%-45s short %6lu/%-6lu near %6lu/%-6lu\n", path.c_str(), c.rel8_counted, c.rel8,
           c.rel32_counted, c.rel32);
    all.rel8 += c.rel8;
    all.rel8_counted += c.rel8_counted;
    all.rel32 += c.rel32;
    all.rel32_counted += c.rel32_counted;
  }
  double share = static_cast<double>(all.rel8_counted + all.rel32_counted) /
                 static_cast<double>(all.rel8 + all.rel32);
  printf("executed conditional branches counted: %.1f%% (short %lu/%lu, near %lu/%lu)\n",
         100 * share, all.rel8_counted, all.rel8, all.rel32_counted, all.rel32);
  EXPECT_GT(all.rel8 + all.rel32, 10000u);
  // The goal is 99% (99.0% today); this floor catches the patcher losing
  // ground.
  EXPECT_GE(share, 0.97);
}

TEST(BranchCoverage, ExecutedBranchesOfPythonAreCounted) {
  char program[] = "/usr/bin/python3";
  if (access(program, X_OK) != 0) GTEST_SKIP() << "SKIP: " << program << " is missing";
  char c[] = "-c", pass[] = "pass";
  char* argv[] = {program, c, pass, nullptr};
  rrx::coverage::Tracer tracer;
  tracer.counts = true;
  std::string how;
  ASSERT_TRUE(tracer.run(argv, "/dev/null", &how)) << how;
  ASSERT_FALSE(tracer.objects.empty());
  // Distinct executed jccs, and every execution.
  uint64_t executed = 0, executed_counted = 0, executions = 0, executions_counted = 0;
  for (const auto& [path, o] : tracer.objects) {
    rrx::coverage::Tally t[2] = {tracer.tally(o, false), tracer.tally(o, true)};
    uint64_t found = 0;
    for (const auto& seg : o.scan.segments) found += seg.rel8_found + seg.rel32_found;
    EXPECT_EQ(t[0].found + t[1].found, found) << path << ": the tracer's sweep differs from the scanner's";
    printf("%-45s short %5lu/%-5lu %8lu/%-8lu near %5lu/%-5lu %8lu/%-8lu\n", path.c_str(),
           t[0].executed_patched, t[0].executed, t[0].executions_patched, t[0].executions,
           t[1].executed_patched, t[1].executed, t[1].executions_patched, t[1].executions);
    for (const auto& x : t) {
      executed += x.executed;
      executed_counted += x.executed_patched;
      executions += x.executions;
      executions_counted += x.executions_patched;
    }
  }
  double distinct = static_cast<double>(executed_counted) / static_cast<double>(executed);
  double dynamic = static_cast<double>(executions_counted) / static_cast<double>(executions);
  printf("executed conditional branches counted: %.1f%% of %lu sites, %.1f%% of %lu executions\n",
         100 * distinct, executed, 100 * dynamic, executions);
  EXPECT_GT(executions, 1000000u);
  // The goal: 99% of executions (issue #11; 99.6% today, and 99.0% of
  // the distinct sites). A floor under today's distinct figure catches the
  // patcher losing ground.
  EXPECT_GE(distinct, 0.98);
  EXPECT_GE(dynamic, 0.99);
}

}  // namespace
