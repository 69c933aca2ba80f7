// Rules for socket syscalls that return addresses, option values and
// received messages.
//
// Addresses go through the kernel's move_addr_to_user(): it reads the
// caller's socklen, copies min(that, address size) bytes, then stores the
// full address size in the socklen. The pre-call socklen is gone by exit,
// so the entry rules save it in call.saved.
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>
#include <cstddef>
#include <iterator>

#include "syscalls/rules.h"

namespace rrx::rules {
namespace {

static_assert(sizeof(struct msghdr) == 56);
static_assert(sizeof(struct mmsghdr) == 64);

// recvmmsg saves the pre-call msg_namelen of its first few messages, two
// 32-bit lengths per saved slot.
constexpr uint64_t kSavedNameLens = 2 * std::size(SyscallCall{}.saved);

// The caller's socklen at `len_ptr` if it passed an address buffer, else 0.
uint64_t caller_socklen(TraceeMemory& mem, uint64_t addr, uint64_t len_ptr) {
  socklen_t len = 0;
  if (addr == 0 || !read_value(mem, len_ptr, len)) return 0;
  return len;
}

// The socklen and the part of the address the kernel copied. The socklen
// even with no address buffer: getsockname/getpeername store the full
// length then too (the others leave it, and recording it unchanged is
// harmless).
void emit_sockaddr(TraceeMemory& mem, uint64_t addr, uint64_t len_ptr,
                   uint64_t caller_len, Regions& out) {
  if (len_ptr == 0) return;
  emit(out, len_ptr, sizeof(socklen_t));
  if (addr == 0) return;
  socklen_t full_len = 0;
  if (read_value(mem, len_ptr, full_len))
    emit(out, addr, std::min<uint64_t>(caller_len, full_len));
}

// What the kernel wrote through a msghdr it filled (already read back at
// exit): `data_len` bytes of data, the address, the control messages.
// msg_controllen was rewritten to the bytes of control data stored.
void emit_msghdr_buffers(TraceeMemory& mem, const struct msghdr& h,
                         uint64_t caller_namelen, uint64_t data_len,
                         Regions& out) {
  emit_iovecs(mem, reinterpret_cast<uint64_t>(h.msg_iov), h.msg_iovlen,
              data_len, out);
  emit(out, reinterpret_cast<uint64_t>(h.msg_name),
       std::min<uint64_t>(caller_namelen, h.msg_namelen));
  emit(out, reinterpret_cast<uint64_t>(h.msg_control), h.msg_controllen);
}

uint64_t mmsghdr_addr(uint64_t vec, uint64_t i) {
  return vec + i * sizeof(struct mmsghdr);
}

}  // namespace

EntryVerdict entry_sockaddr(SyscallCall& call, TraceeMemory& mem) {
  call.saved[0] = caller_socklen(mem, call.args[1], call.args[2]);
  return {};
}

void out_sockaddr(const SyscallCall& call, TraceeMemory& mem, Regions& out) {
  if (succeeded(call.result))
    emit_sockaddr(mem, call.args[1], call.args[2], call.saved[0], out);
}

// recvfrom(fd, buf, len, flags, src_addr, addrlen)
EntryVerdict entry_recvfrom(SyscallCall& call, TraceeMemory& mem) {
  call.saved[0] = caller_socklen(mem, call.args[4], call.args[5]);
  return {};
}

// With MSG_TRUNC the result is the datagram's size, which may exceed len.
void out_recvfrom(const SyscallCall& call, TraceeMemory& mem, Regions& out) {
  if (!succeeded(call.result)) return;
  emit(out, call.args[1], std::min<uint64_t>(call.result, call.args[2]));
  emit_sockaddr(mem, call.args[4], call.args[5], call.saved[0], out);
}

// recvmsg(fd, msg, flags)
EntryVerdict entry_recvmsg(SyscallCall& call, TraceeMemory& mem) {
  struct msghdr h;
  if (read_value(mem, call.args[1], h) && h.msg_name != nullptr)
    call.saved[0] = h.msg_namelen;
  return {};
}

// The kernel updates msg_namelen, msg_controllen and msg_flags; the whole
// msghdr is recorded rather than those three fields.
void out_recvmsg(const SyscallCall& call, TraceeMemory& mem, Regions& out) {
  struct msghdr h;
  if (!succeeded(call.result) || !read_value(mem, call.args[1], h)) return;
  emit(out, call.args[1], sizeof h);
  emit_msghdr_buffers(mem, h, call.saved[0], call.result, out);
}

// recvmmsg(fd, msgvec, vlen, flags, timeout): saves the caller's
// msg_namelen of the first kSavedNameLens messages.
EntryVerdict entry_recvmmsg(SyscallCall& call, TraceeMemory& mem) {
  const uint64_t n = std::min(call.args[2], kSavedNameLens);
  for (uint64_t i = 0; i < n; ++i) {
    struct msghdr h;
    if (!read_value(mem, mmsghdr_addr(call.args[1], i), h) ||
        h.msg_name == nullptr)
      continue;
    call.saved[i / 2] |= uint64_t(h.msg_namelen) << (32 * (i % 2));
  }
  return {};
}

// Each received mmsghdr (msg_len is its data size), its buffers, and the
// timeout, which the kernel rewrites with the time left once a message
// arrived. Beyond the first kSavedNameLens messages the caller's namelen is
// unknown and the stored one is used: exact unless an address was
// truncated.
void out_recvmmsg(const SyscallCall& call, TraceeMemory& mem, Regions& out) {
  if (call.result <= 0) return;
  for (uint64_t i = 0; i < uint64_t(call.result); ++i) {
    const uint64_t addr = mmsghdr_addr(call.args[1], i);
    struct mmsghdr m;
    if (!read_value(mem, addr, m)) return;
    emit(out, addr, sizeof m);
    const uint64_t caller_namelen =
        i < kSavedNameLens ? uint32_t(call.saved[i / 2] >> (32 * (i % 2)))
                           : m.msg_hdr.msg_namelen;
    emit_msghdr_buffers(mem, m.msg_hdr, caller_namelen, m.msg_len, out);
  }
  emit(out, call.args[4], sizeof(struct timespec));
}

// sendmmsg stores the bytes sent in each message's msg_len.
void out_sendmmsg(const SyscallCall& call, TraceeMemory&, Regions& out) {
  for (int64_t i = 0; i < call.result; ++i)
    emit(out, mmsghdr_addr(call.args[1], i) + offsetof(struct mmsghdr, msg_len),
         sizeof(unsigned));
}

// getsockopt(fd, level, optname, optval, optlen)
EntryVerdict entry_getsockopt(SyscallCall& call, TraceeMemory& mem) {
  socklen_t len = 0;
  if (read_value(mem, call.args[4], len)) call.saved[0] = len;
  return {};
}

// Most options store min(caller's optlen, value size) bytes and shrink
// optlen to match, but some protocol handlers (netfilter's) fill the
// caller's whole buffer, so the caller's length is recorded.
void out_getsockopt(const SyscallCall& call, TraceeMemory&, Regions& out) {
  if (!succeeded(call.result) || call.args[4] == 0) return;
  emit(out, call.args[4], sizeof(socklen_t));
  emit(out, call.args[3], call.saved[0]);
}

// setsockopt(fd, level, optname, optval, optlen). Replacing an iptables
// table (IPT_SO_SET_REPLACE; ip6tables' IP6T_SO_SET_REPLACE, the same
// number and struct layout) also writes the old table's counters (struct
// xt_counters, 16 bytes each) to the array the struct points to.
namespace {
// The head of struct ipt_replace (linux/netfilter_ipv4/ip_tables.h, whose
// headers clash with glibc's).
struct IptReplaceHead {
  char name[32];
  uint32_t valid_hooks, num_entries, size;
  uint32_t hook_entry[5], underflow[5];
  uint32_t num_counters;
  uint64_t counters;
};
static_assert(offsetof(IptReplaceHead, counters) == 88, "struct ipt_replace");
constexpr int kIptSoSetReplace = 64;
}  // namespace

void out_setsockopt(const SyscallCall& call, TraceeMemory& mem, Regions& out) {
  const int level = static_cast<int>(call.args[1]), name = static_cast<int>(call.args[2]);
  if (!succeeded(call.result) || name != kIptSoSetReplace || (level != SOL_IP && level != SOL_IPV6))
    return;
  IptReplaceHead head;
  if (call.args[4] < sizeof head || !read_value(mem, call.args[3], head)) return;
  const uint64_t bytes = uint64_t{head.num_counters} * 16;
  if (bytes <= (1u << 26)) emit(out, head.counters, bytes);
}

}  // namespace rrx::rules
