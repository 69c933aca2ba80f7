// Outputs of the keyring and disk-quota calls: which memory each command
// writes. Commands not listed write nothing to the caller's memory, except
// those refused at entry (their outputs have shapes of their own).
#include <linux/dqblk_xfs.h>
#include <linux/keyctl.h>
#include <linux/quota.h>

#include <algorithm>
#include <cstdio>

#include "syscalls/rules.h"

namespace rrx::rules {
namespace {

// Commands that copy up to `buflen` bytes of their answer into a buffer
// and return the answer's full length.
bool fills_buffer(uint64_t command) {
  switch (command) {
    case KEYCTL_DESCRIBE:
    case KEYCTL_READ:
    case KEYCTL_GET_SECURITY:
    case KEYCTL_DH_COMPUTE:
      return true;
    default:
      return false;
  }
}

struct QuotaOutput {
  uint32_t subcommand;  // the command without its quota type (QCMD)
  uint32_t size;
};

constexpr QuotaOutput kQuotaOutputs[] = {
    {Q_GETFMT, sizeof(uint32_t)},
    {Q_GETINFO, sizeof(struct if_dqinfo)},
    {Q_GETQUOTA, sizeof(struct if_dqblk)},
    {Q_GETNEXTQUOTA, sizeof(struct if_nextdqblk)},
    {Q_XGETQUOTA, sizeof(struct fs_disk_quota)},
    {Q_XGETNEXTQUOTA, sizeof(struct fs_disk_quota)},
    {Q_XGETQSTAT, sizeof(struct fs_quota_stat)},
    {Q_XGETQSTATV, sizeof(struct fs_quota_statv)},
};

uint32_t quota_output_size(uint64_t command) {
  for (const QuotaOutput& o : kQuotaOutputs) {
    if (o.subcommand == uint32_t(command) >> SUBCMDSHIFT) return o.size;
  }
  return 0;
}

}  // namespace

EntryVerdict entry_keyctl(SyscallCall& call, TraceeMemory&) {
  switch (call.args[0]) {
    case KEYCTL_PKEY_QUERY:
    case KEYCTL_PKEY_ENCRYPT:
    case KEYCTL_PKEY_DECRYPT:
    case KEYCTL_PKEY_SIGN:
    case KEYCTL_PKEY_VERIFY: {
      char what[40];
      std::snprintf(what, sizeof what, "keyctl command %d", int(call.args[0]));
      return {EntryVerdict::kUnsupported, 0, what};
    }
    default:
      return {};
  }
}

void out_keyctl(const SyscallCall& call, TraceeMemory&, Regions& out) {
  if (call.result <= 0 || !fills_buffer(call.args[0]) || call.args[2] == 0) return;
  emit(out, call.args[2], std::min<uint64_t>(uint64_t(call.result), call.args[3]));
}

void out_quotactl(const SyscallCall& call, TraceeMemory&, Regions& out) {
  if (succeeded(call.result)) emit(out, call.args[3], quota_output_size(call.args[0]));
}

void out_quotactl_fd(const SyscallCall& call, TraceeMemory&, Regions& out) {
  if (succeeded(call.result)) emit(out, call.args[3], quota_output_size(call.args[1]));
}

}  // namespace rrx::rules
