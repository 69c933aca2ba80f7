// The syscalls the buffering engine buffers (preload/syscallbuf_abi.h) against
// the syscall table, which stays the one place that says what a syscall
// writes and how replay reproduces it; and the decoding of buffer records.
#include <errno.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <set>
#include <utility>

#include "preload/syscallbuf_abi.h"
#include "syscalls/buffered_records.h"
#include "syscalls/syscall_table.h"

namespace rrx {
namespace {

class NoMemory : public TraceeMemory {
 public:
  bool read(uint64_t, void*, size_t) override { return false; }
};

using RegionSet = std::set<std::pair<uint64_t, uint64_t>>;

// What the preload library copies into a record for `call`, by the rules
// spelled out in syscallbuf_abi.h.
RegionSet shape_regions(const rrx_buffered_syscall& b, const SyscallCall& call) {
  RegionSet out;
  for (const rrx_out_shape& s : b.out) {
    uint64_t len = rrx_out_len(&s, call.args, call.result);
    if (len) out.emplace(call.args[s.ptr], len);
  }
  return out;
}

RegionSet table_regions(const SyscallDesc& desc, const SyscallCall& call) {
  RegionSet out;
  if (!desc.outputs) return out;
  NoMemory mem;
  std::vector<MemRegion> regions;
  desc.outputs(call, mem, regions);
  for (const MemRegion& r : regions) {
    if (r.len) out.emplace(r.addr, r.len);
  }
  return out;
}

TEST(BufferedSyscalls, ReplayLikeTheTableSaysWithNoEntryRule) {
  for (const rrx_buffered_syscall& b : rrx_buffered_syscalls) {
    const SyscallDesc* desc = syscall_lookup(b.nr);
    ASSERT_NE(desc, nullptr) << b.nr;
    // The replayer never sees the call: the preload library takes its
    // result, or runs it again where the table says replay must, and
    // nothing may need checking before the kernel runs it.
    EXPECT_EQ(desc->record, RecordPolicy::kRecord) << desc->name;
    if (b.replay == RRX_REPLAY_RUNS) {
      EXPECT_TRUE(desc->replay == ReplayAction::kExecute || desc->replay == ReplayAction::kMmap)
          << desc->name;
    } else {
      EXPECT_EQ(desc->replay, ReplayAction::kEmulate) << desc->name;
    }
    // ioctl's entry rule refuses unknown requests; BufferedIoctls checks
    // that it lets the buffered ones run.
    if (b.nr != SYS_ioctl) {
      EXPECT_EQ(desc->at_entry, nullptr) << desc->name;
    }
  }
}

TEST(BufferedIoctls, AreKnownAndWriteWhatTheTableSays) {
  const SyscallDesc* desc = syscall_lookup(SYS_ioctl);
  ASSERT_NE(desc, nullptr);
  for (const rrx_buffered_ioctl& io : rrx_buffered_ioctls) {
    SyscallCall call;
    call.number = SYS_ioctl;
    call.args[0] = 3;
    call.args[1] = io.request;
    call.args[2] = 0x10000;
    NoMemory mem;
    EXPECT_EQ(desc->at_entry(call, mem).kind, EntryVerdict::kRun) << std::hex << io.request;
    call.result = 0;
    RegionSet want;
    if (io.out_len) want.emplace(0x10000, io.out_len);
    EXPECT_EQ(table_regions(*desc, call), want) << std::hex << io.request;
    call.result = -EINVAL;
    EXPECT_EQ(table_regions(*desc, call), RegionSet{}) << std::hex << io.request;
  }
}

// Whether the kernel can return `call.result` for these arguments: a
// positive byte count needs a buffer (else EFAULT) of non-zero size.
bool possible(const rrx_buffered_syscall& b, const SyscallCall& call) {
  for (const rrx_out_shape& s : b.out) {
    if (s.kind == RRX_OUT_RESULT && call.result > 0 &&
        (call.args[s.len] == 0 || call.args[s.ptr] == 0)) {
      return false;
    }
  }
  return true;
}

TEST(BufferedSyscalls, WriteWhatTheTableSaysTheyWrite) {
  // Every argument a distinct non-null value (pointers and sizes alike),
  // then each pointer argument null in turn, for failed, empty and
  // successful results.
  const int64_t results[] = {-EINVAL, -EFAULT, 0, 1, 100, 4096};
  for (const rrx_buffered_syscall& b : rrx_buffered_syscalls) {
    const SyscallDesc* desc = syscall_lookup(b.nr);
    ASSERT_NE(desc, nullptr);
    if (b.nr == SYS_ioctl) continue;  // by request: BufferedIoctls
    for (int null_arg = -1; null_arg < 6; ++null_arg) {
      for (int64_t result : results) {
        SyscallCall call;
        call.number = b.nr;
        for (int i = 0; i < 6; ++i) call.args[i] = i == null_arg ? 0 : 0x10000 * (i + 1);
        // Size arguments as large as the result, as the kernel guarantees.
        for (const rrx_out_shape& s : b.out) {
          if (s.kind == RRX_OUT_RESULT && null_arg != s.len) call.args[s.len] = 1 << 20;
        }
        call.result = result;
        if (!possible(b, call)) continue;
        EXPECT_EQ(shape_regions(b, call), table_regions(*desc, call))
            << desc->name << " result " << result << " null arg " << null_arg;
      }
    }
  }
}

TEST(BufferedSyscalls, AreListedOnce) {
  std::set<int> seen;
  for (const rrx_buffered_syscall& b : rrx_buffered_syscalls) {
    EXPECT_TRUE(seen.insert(b.nr).second) << syscall_name(b.nr);
  }
}

// A record as the preload library lays it out.
void append_record(std::string* data, int nr, int64_t ret, const std::string& output,
                   uint32_t flags = 0) {
  rrx_record rec = {};
  rec.nr = nr;
  rec.ret = ret;
  rec.flags = flags;
  rec.nout = output.empty() ? 0 : 1;
  size_t padded = (output.size() + 7) & ~size_t{7};
  rec.size = sizeof rec + (output.empty() ? 0 : sizeof(rrx_output) + padded);
  data->append(reinterpret_cast<const char*>(&rec), sizeof rec);
  if (output.empty()) return;
  rrx_output out = {0x1000, output.size()};
  data->append(reinterpret_cast<const char*>(&out), sizeof out);
  data->append(output);
  data->append(padded - output.size(), '\0');
}

TEST(BufferRecords, DecodeInOrder) {
  std::string data;
  append_record(&data, SYS_read, 5, "hello");
  append_record(&data, SYS_close, 0, "");
  append_record(&data, SYS_openat, -ENOENT, "");
  append_record(&data, SYS_write, 4096, "", RRX_RECORD_PARTIAL);
  std::vector<BufferedCall> calls;
  ASSERT_TRUE(decode_buffered_records(data, &calls));
  ASSERT_EQ(calls.size(), 4u);
  EXPECT_EQ(calls[0].nr, SYS_read);
  EXPECT_EQ(calls[0].result, 5);
  EXPECT_EQ(calls[0].output_bytes, 5u);
  EXPECT_EQ(calls[1].nr, SYS_close);
  EXPECT_EQ(calls[2].result, -ENOENT);
  EXPECT_FALSE(calls[2].partial);
  EXPECT_TRUE(calls[3].partial);
}

TEST(BufferRecords, RefuseTruncatedOrMisalignedData) {
  std::string data;
  append_record(&data, SYS_read, 5, "hello");
  std::vector<BufferedCall> calls;
  EXPECT_FALSE(decode_buffered_records(data.substr(0, data.size() - 8), &calls));
  EXPECT_FALSE(decode_buffered_records(data.substr(0, 20), &calls));
  std::string misaligned = data;
  uint32_t size = 0;
  std::memcpy(&size, misaligned.data(), 4);
  size -= 4;
  std::memcpy(misaligned.data(), &size, 4);
  EXPECT_FALSE(decode_buffered_records(misaligned, &calls));
}

}  // namespace
}  // namespace rrx
