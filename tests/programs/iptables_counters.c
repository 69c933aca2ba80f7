// iptables_counters: replacing an iptables table (setsockopt
// IPT_SO_SET_REPLACE, in a network namespace of its own) makes the kernel
// write the old table's packet counters into an array the request points
// to: memory a syscall writes that none of its arguments names directly.
// The table is replaced by itself; the counters array starts as 0xff bytes
// and the program prints a checksum of it afterwards.
#define _GNU_SOURCE
#include <errno.h>
#include <linux/netfilter_ipv4/ip_tables.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(void) {
  if (unshare(CLONE_NEWNET) != 0) {
    printf("no network namespace here (%s): nothing to test\n", strerror(errno));
    return 0;
  }
  int fd = socket(AF_INET, SOCK_RAW, IPPROTO_RAW);
  struct ipt_getinfo info;
  memset(&info, 0, sizeof info);
  strcpy(info.name, "filter");
  socklen_t len = sizeof info;
  if (fd < 0 || getsockopt(fd, IPPROTO_IP, IPT_SO_GET_INFO, &info, &len) != 0) {
    printf("no iptables filter table here (%s): nothing to test\n", strerror(errno));
    return 0;
  }
  socklen_t entries_len = sizeof(struct ipt_get_entries) + info.size;
  struct ipt_get_entries* entries = calloc(1, entries_len);
  strcpy(entries->name, "filter");
  entries->size = info.size;
  if (getsockopt(fd, IPPROTO_IP, IPT_SO_GET_ENTRIES, entries, &entries_len) != 0) return 1;

  size_t replace_len = sizeof(struct ipt_replace) + info.size;
  struct ipt_replace* replace = calloc(1, replace_len);
  strcpy(replace->name, "filter");
  replace->valid_hooks = info.valid_hooks;
  replace->num_entries = info.num_entries;
  replace->size = info.size;
  memcpy(replace->hook_entry, info.hook_entry, sizeof info.hook_entry);
  memcpy(replace->underflow, info.underflow, sizeof info.underflow);
  replace->num_counters = info.num_entries;
  size_t counters_len = sizeof(struct xt_counters) * info.num_entries;
  replace->counters = malloc(counters_len);
  memset(replace->counters, 0xff, counters_len);
  memcpy(replace->entries, entries->entrytable, info.size);
  if (setsockopt(fd, IPPROTO_IP, IPT_SO_SET_REPLACE, replace, replace_len) != 0) {
    printf("replacing the table failed: %s\n", strerror(errno));
    return 1;
  }
  unsigned sum = 0;
  for (size_t i = 0; i < counters_len; i++) sum = sum * 31 + ((unsigned char*)replace->counters)[i];
  printf("table of %u entries replaced; counters checksum %08x\n", info.num_entries, sum);
  return 0;
}
