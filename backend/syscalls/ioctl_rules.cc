// ioctl: the one list of requests rrx knows. A request not listed (or listed
// as refused) stops recording, because we could not tell which memory the
// driver wrote. The output of every known request is a fixed-size struct at
// args[2].
#include <asm/termbits.h>  // the kernel's struct termios, not glibc's
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <linux/if_bridge.h>
#include <linux/if_tun.h>
#include <linux/filter.h>
#include <linux/kd.h>
#include <linux/perf_event.h>
#include <linux/serial.h>
#include <linux/vt.h>
#include <linux/random.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <sys/ioctl.h>

#include <algorithm>
#include <cstdio>
#include <iterator>

#include "syscalls/rules.h"

namespace rrx::rules {
namespace {

static_assert(sizeof(struct termios) == 36);
static_assert(sizeof(struct termios2) == 44);
static_assert(sizeof(struct winsize) == 8);

struct IoctlRule {
  uint32_t request;
  const char* name;
  uint32_t out_size;  // bytes the kernel writes at args[2]; 0 for none
  bool supported;
};

#define IOCTL(request, out_size) \
  { request, #request, out_size, true }
// Known by name only, for a clearer error.
#define REFUSED(request) \
  { request, #request, 0, false }

constexpr IoctlRule kIoctls[] = {
    // Terminals (tcgetattr/isatty, job control, window size, ptys).
    IOCTL(TCGETS, sizeof(struct termios)),
    IOCTL(TCSETS, 0),
    IOCTL(TCSETSW, 0),
    IOCTL(TCSETSF, 0),
    IOCTL(TCGETS2, sizeof(struct termios2)),
    IOCTL(TCSETS2, 0),
    IOCTL(TCSETSW2, 0),
    IOCTL(TCSETSF2, 0),
    IOCTL(TCGETA, sizeof(struct termio)),
    IOCTL(TCSETA, 0),
    IOCTL(TCSETAW, 0),
    IOCTL(TCSETAF, 0),
    IOCTL(TCSBRK, 0),
    IOCTL(TCSBRKP, 0),
    IOCTL(TCXONC, 0),
    IOCTL(TCFLSH, 0),
    IOCTL(TIOCSBRK, 0),
    IOCTL(TIOCCBRK, 0),
    IOCTL(TIOCEXCL, 0),
    IOCTL(TIOCNXCL, 0),
    IOCTL(TIOCGEXCL, sizeof(int)),
    IOCTL(TIOCSCTTY, 0),
    IOCTL(TIOCNOTTY, 0),
    IOCTL(TIOCGPGRP, sizeof(pid_t)),
    IOCTL(TIOCSPGRP, 0),
    IOCTL(TIOCGSID, sizeof(pid_t)),
    IOCTL(TIOCOUTQ, sizeof(int)),
    IOCTL(TIOCGWINSZ, sizeof(struct winsize)),
    IOCTL(TIOCSWINSZ, 0),
    IOCTL(TIOCMGET, sizeof(int)),
    IOCTL(TIOCMSET, 0),
    IOCTL(TIOCMBIS, 0),
    IOCTL(TIOCMBIC, 0),
    IOCTL(TIOCGETD, sizeof(int)),
    IOCTL(TIOCSETD, 0),
    IOCTL(TIOCGPTN, sizeof(unsigned)),
    IOCTL(TIOCSPTLCK, 0),
    IOCTL(TIOCGPTLCK, sizeof(int)),
    IOCTL(TIOCGPKT, sizeof(int)),
    IOCTL(TIOCPKT, 0),
    IOCTL(TIOCGDEV, sizeof(unsigned)),
    IOCTL(TIOCGPTPEER, 0),
    IOCTL(TIOCSTI, 0),  // queues terminal input: the reads that take it are recorded
    IOCTL(TIOCGLCKTRMIOS, sizeof(struct termios)),
    IOCTL(TIOCSLCKTRMIOS, 0),
    IOCTL(TIOCGICOUNT, sizeof(struct serial_icounter_struct)),
    IOCTL(TIOCSERGETLSR, sizeof(unsigned)),
    IOCTL(TIOCGSERIAL, sizeof(struct serial_struct)),
    REFUSED(TIOCLINUX),  // console multiplexer; sub-commands vary
    // Generic file descriptors.
    IOCTL(FIONREAD, sizeof(int)),  // also TIOCINQ
    IOCTL(FIONBIO, 0),
    IOCTL(FIOASYNC, 0),
    IOCTL(FIOCLEX, 0),
    IOCTL(FIONCLEX, 0),
    IOCTL(FIOQSIZE, sizeof(loff_t)),
    IOCTL(FIOSETOWN, 0),
    IOCTL(FIOGETOWN, sizeof(int)),
    // Sockets.
    IOCTL(SIOCATMARK, sizeof(int)),
    IOCTL(SIOCSPGRP, 0),
    IOCTL(SIOCGPGRP, sizeof(int)),
    IOCTL(SIOCGIFNAME, sizeof(struct ifreq)),
    IOCTL(SIOCGIFINDEX, sizeof(struct ifreq)),
    IOCTL(SIOCGIFFLAGS, sizeof(struct ifreq)),
    IOCTL(SIOCGIFADDR, sizeof(struct ifreq)),
    IOCTL(SIOCGIFMTU, sizeof(struct ifreq)),
    IOCTL(SIOCGIFHWADDR, sizeof(struct ifreq)),
    IOCTL(SIOCGIFPFLAGS, sizeof(struct ifreq)),
    IOCTL(SIOCGIFMEM, sizeof(struct ifreq)),
    IOCTL(SIOCGIFBR, 0),  // bridge sub-commands: out_ioctl reads which
    REFUSED(SIOCGIFCONF),  // output size comes from inside struct ifconf
    // Network configuration (root): they change the system, not the
    // program's memory.
    IOCTL(SIOCSIFADDR, 0),
    IOCTL(SIOCSIFFLAGS, 0),
    IOCTL(SIOCSIFNETMASK, 0),
    IOCTL(SIOCSIFMTU, 0),
    IOCTL(SIOCADDRT, 0),
    IOCTL(SIOCDELRT, 0),
    IOCTL(SIOCBRADDBR, 0),
    IOCTL(SIOCBRDELBR, 0),
    IOCTL(SIOCBRADDIF, 0),
    IOCTL(SIOCBRDELIF, 0),
    // TUN/TAP devices. TUNSETIFF writes the interface's name back and
    // TUNGETIFF a whole struct ifreq, whatever their encodings say.
    IOCTL(TUNSETIFF, sizeof(struct ifreq)),
    IOCTL(TUNGETIFF, sizeof(struct ifreq)),
    IOCTL(TUNGETFEATURES, sizeof(unsigned)),
    IOCTL(TUNGETSNDBUF, sizeof(int)),
    IOCTL(TUNGETVNETHDRSZ, sizeof(int)),
    IOCTL(TUNGETFILTER, sizeof(struct sock_fprog)),
    // Virtual consoles.
    IOCTL(VT_OPENQRY, sizeof(int)),
    IOCTL(VT_GETSTATE, sizeof(struct vt_stat)),
    IOCTL(VT_GETMODE, sizeof(struct vt_mode)),
    IOCTL(KDGKBMODE, sizeof(int)),
    IOCTL(KDGKBTYPE, sizeof(char)),
    // File systems and block devices.
    IOCTL(FS_IOC_GETFLAGS, sizeof(int)),  // an int, despite the encoding
    IOCTL(FS_IOC_SETFLAGS, 0),
    IOCTL(FS_IOC_GETVERSION, sizeof(int)),
    IOCTL(FS_IOC_FSGETXATTR, sizeof(struct fsxattr)),
    IOCTL(FS_IOC_FIEMAP, 0),  // its extents: out_ioctl reads how many
    IOCTL(FICLONE, 0),
    IOCTL(FICLONERANGE, 0),
    REFUSED(FIDEDUPERANGE),  // variable-length result array
    IOCTL(BLKGETSIZE, sizeof(unsigned long)),
    IOCTL(BLKGETSIZE64, sizeof(uint64_t)),
    IOCTL(BLKSSZGET, sizeof(int)),
    IOCTL(BLKPBSZGET, sizeof(unsigned)),
    // perf_event_open's descriptors (the others say their size).
    IOCTL(PERF_EVENT_IOC_ENABLE, 0),
    IOCTL(PERF_EVENT_IOC_DISABLE, 0),
    IOCTL(PERF_EVENT_IOC_REFRESH, 0),
    IOCTL(PERF_EVENT_IOC_RESET, 0),
    IOCTL(PERF_EVENT_IOC_SET_OUTPUT, 0),
    // Random device.
    IOCTL(RNDGETENTCNT, sizeof(int)),
};

#undef IOCTL
#undef REFUSED

constexpr bool requests_unique() {
  for (size_t i = 0; i < std::size(kIoctls); ++i)
    for (size_t j = i + 1; j < std::size(kIoctls); ++j)
      if (kIoctls[i].request == kIoctls[j].request) return false;
  return true;
}
static_assert(requests_unique(), "an ioctl request is listed twice");

const IoctlRule* find_ioctl(uint32_t request) {
  for (const IoctlRule& rule : kIoctls)
    if (rule.request == request) return &rule;
  return nullptr;
}

// The kernel takes the request as a 32-bit unsigned int.
uint32_t request_of(const SyscallCall& call) { return uint32_t(call.args[1]); }

std::string describe(uint32_t request, const IoctlRule* rule, int fd) {
  char buf[96];
  if (rule != nullptr)
    std::snprintf(buf, sizeof buf, "ioctl %s (0x%x) on fd %d", rule->name,
                  request, fd);
  else
    std::snprintf(buf, sizeof buf, "ioctl 0x%x on fd %d", request, fd);
  return buf;
}

// A request the table does not name may still say what it does: the _IOC
// encoding newer drivers use gives its direction and the size of what the
// argument points to. One that reads into the program's memory (_IOC_READ)
// writes those bytes; one that only takes input writes nothing. Old-style
// requests (no direction, no size: most of the terminal, socket and
// console ones) say nothing: they are recorded only if they fail.
bool self_describing(uint32_t request) {
  return _IOC_DIR(request) != _IOC_NONE && _IOC_SIZE(request) > 0;
}

}  // namespace

EntryVerdict entry_ioctl(SyscallCall& call, TraceeMemory&) {
  const uint32_t request = request_of(call);
  const IoctlRule* rule = find_ioctl(request);
  if (rule != nullptr ? rule->supported : self_describing(request)) return {};
  // Most such requests are a program probing a device it does not have:
  // they fail, with no effect to replay.
  return {EntryVerdict::kUnlessItFails, 0, describe(request, rule, int(call.args[0]))};
}

void out_ioctl(const SyscallCall& call, TraceeMemory& mem, Regions& out) {
  const uint32_t request = request_of(call);
  const IoctlRule* rule = find_ioctl(request);
  if (!succeeded(call.result)) return;
  if (request == FS_IOC_FIEMAP) {
    // The header, and the extents it says it filled (up to the room given).
    struct fiemap header;
    if (!mem.read(call.args[2], &header, sizeof header)) return;
    uint64_t extents = std::min(header.fm_mapped_extents, header.fm_extent_count);
    emit(out, call.args[2], sizeof header + extents * sizeof(struct fiemap_extent));
    return;
  }
  if (request == SIOCGIFBR) {
    // args[2] points to {command, buffer, count}; only the list of bridges
    // comes back in memory: `count` ints, zeros past the bridges found.
    unsigned long bridge_args[3];
    if (mem.read(call.args[2], bridge_args, sizeof bridge_args) &&
        bridge_args[0] == BRCTL_GET_BRIDGES) {
      emit(out, bridge_args[1], uint64_t(bridge_args[2]) * sizeof(int));
    }
    return;
  }
  if (rule != nullptr) {
    if (rule->supported) emit(out, call.args[2], rule->out_size);
  } else if (self_describing(request) && (_IOC_DIR(request) & _IOC_READ)) {
    emit(out, call.args[2], _IOC_SIZE(request));
  }
}

}  // namespace rrx::rules
