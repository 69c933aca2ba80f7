// The recorded fd tables (replay/fd_table.h), fed syscalls as replay feeds
// them: what each fd is, its offset and flags, through dup, fork and exec.
#include "replay/fd_table.h"

#include <fcntl.h>
#include <linux/close_range.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <sys/syscall.h>

#include <map>
#include <string>

namespace rrx {
namespace {

constexpr int32_t kRoot = 100;

// The thread's memory: strings and int pairs at made-up addresses.
struct FakeMemory {
  std::map<uint64_t, std::string> strings;
  std::map<uint64_t, std::pair<int, int>> pairs;
  FdTables::StringReader string_reader() {
    return [this](uint64_t addr) { return strings.count(addr) ? strings[addr] : std::string(); };
  }
  FdTables::MemReader mem_reader() {
    return [this](uint64_t addr, void* buf, size_t len) {
      if (!pairs.count(addr) || len != 2 * sizeof(int)) return false;
      int fds[2] = {pairs[addr].first, pairs[addr].second};
      memcpy(buf, fds, len);
      return true;
    };
  }
};

class FdTableTest : public ::testing::Test {
 protected:
  void SetUp() override { tables.start(kRoot, "/home/u"); }
  void call(int32_t tid, int nr, std::initializer_list<uint64_t> args, int64_t result) {
    uint64_t a[6] = {};
    size_t i = 0;
    for (uint64_t v : args) a[i++] = v;
    tables.syscall(tid, nr, a, result, memory.string_reader(), memory.mem_reader());
  }
  const FdEntry* find(int32_t tid, int fd) {
    static std::vector<FdEntry> last;
    last = tables.table(tid);
    for (const FdEntry& e : last) {
      if (e.fd == fd) return &e;
    }
    return nullptr;
  }
  FdTables tables;
  FakeMemory memory;
};

TEST_F(FdTableTest, StartsWithTheRecordersStdio) {
  auto t = tables.table(kRoot);
  ASSERT_EQ(t.size(), 3u);
  for (int fd = 0; fd < 3; ++fd) {
    EXPECT_EQ(t[fd].file->kind, "stdio");
    EXPECT_EQ(t[fd].file->stdio, fd);
  }
}

TEST_F(FdTableTest, OpenReadSeekCloseFollowTheFile) {
  memory.strings[0x1000] = "data/in.txt";
  call(kRoot, SYS_openat, {static_cast<uint64_t>(AT_FDCWD), 0x1000, O_RDWR | O_CLOEXEC}, 3);
  const FdEntry* e = find(kRoot, 3);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->file->kind, "file");
  EXPECT_EQ(e->file->path, "/home/u/data/in.txt");
  EXPECT_EQ(e->file->flags, static_cast<uint64_t>(O_RDWR));
  EXPECT_TRUE(e->cloexec);
  call(kRoot, SYS_read, {3, 0, 100}, 100);
  call(kRoot, SYS_write, {3, 0, 20}, 20);
  call(kRoot, SYS_pread64, {3, 0, 50, 0}, 50);  // no offset change
  EXPECT_EQ(find(kRoot, 3)->file->offset, 120u);
  call(kRoot, SYS_lseek, {3, 7, SEEK_SET}, 7);
  EXPECT_EQ(find(kRoot, 3)->file->offset, 7u);
  call(kRoot, SYS_read, {3, 0, 100}, -EINTR);  // a failure changes nothing
  EXPECT_EQ(find(kRoot, 3)->file->offset, 7u);
  call(kRoot, SYS_close, {3}, 0);
  EXPECT_EQ(find(kRoot, 3), nullptr);
}

TEST_F(FdTableTest, DupsShareTheOffsetAndOwnTheirCloexec) {
  memory.strings[0x1000] = "/etc/f";
  call(kRoot, SYS_open, {0x1000, O_RDONLY | O_CLOEXEC}, 3);
  call(kRoot, SYS_dup2, {3, 7}, 7);
  call(kRoot, SYS_fcntl, {3, F_DUPFD_CLOEXEC, 10}, 10);
  call(kRoot, SYS_read, {7, 0, 10}, 10);
  EXPECT_EQ(find(kRoot, 3)->file->offset, 10u);
  EXPECT_EQ(find(kRoot, 10)->file->offset, 10u);
  EXPECT_FALSE(find(kRoot, 7)->cloexec);
  EXPECT_TRUE(find(kRoot, 10)->cloexec);
  call(kRoot, SYS_fcntl, {7, F_SETFL, O_NONBLOCK | O_APPEND}, 0);
  EXPECT_EQ(find(kRoot, 3)->file->flags, static_cast<uint64_t>(O_RDONLY | O_NONBLOCK | O_APPEND));
}

TEST_F(FdTableTest, PipesSocketsAndOthersHaveKinds) {
  memory.pairs[0x2000] = {3, 4};
  call(kRoot, SYS_pipe2, {0x2000, O_CLOEXEC}, 0);
  call(kRoot, SYS_socket, {2, 1, 0}, 5);
  call(kRoot, SYS_eventfd2, {0, 0}, 6);
  EXPECT_EQ(find(kRoot, 3)->file->kind, "pipe");
  EXPECT_EQ(find(kRoot, 4)->file->flags, static_cast<uint64_t>(O_WRONLY));
  EXPECT_TRUE(find(kRoot, 4)->cloexec);
  EXPECT_EQ(find(kRoot, 5)->file->kind, "socket");
  EXPECT_EQ(find(kRoot, 6)->file->kind, "eventfd");
}

TEST_F(FdTableTest, ForkCopiesThreadsShareExecClosesCloexec) {
  memory.strings[0x1000] = "a";
  memory.strings[0x1100] = "b";
  call(kRoot, SYS_open, {0x1000, O_RDONLY}, 3);
  call(kRoot, SYS_open, {0x1100, O_RDONLY | O_CLOEXEC}, 4);
  tables.new_task(kRoot, 101, SIGCHLD);                  // fork
  tables.new_task(kRoot, 102, CLONE_FILES | CLONE_VM);  // a thread
  call(kRoot, SYS_close, {3}, 0);
  EXPECT_NE(find(101, 3), nullptr);  // the child's copy keeps it
  EXPECT_EQ(find(102, 3), nullptr);  // the thread shares the table
  call(101, SYS_read, {4, 0, 5}, 5);
  EXPECT_EQ(find(kRoot, 4)->file->offset, 5u);  // one description
  tables.exec(101, 101);
  EXPECT_NE(find(101, 3), nullptr);
  EXPECT_EQ(find(101, 4), nullptr);
  call(kRoot, SYS_chdir, {0x1000}, 0);
  EXPECT_EQ(tables.cwd(kRoot), "/home/u/a");
  EXPECT_EQ(tables.cwd(101), "/home/u");
}

TEST_F(FdTableTest, CloseRangeAndPathsRelativeToADirectoryFd) {
  memory.strings[0x1000] = "/srv/data";
  memory.strings[0x1100] = "x/y.txt";
  call(kRoot, SYS_openat, {static_cast<uint64_t>(AT_FDCWD), 0x1000, O_RDONLY | O_DIRECTORY}, 3);
  call(kRoot, SYS_openat, {3, 0x1100, O_WRONLY | O_APPEND}, 4);
  EXPECT_EQ(find(kRoot, 4)->file->path, "/srv/data/x/y.txt");
  call(kRoot, SYS_close_range, {4, ~0U, CLOSE_RANGE_CLOEXEC}, 0);
  EXPECT_TRUE(find(kRoot, 4)->cloexec);
  EXPECT_FALSE(find(kRoot, 3)->cloexec);
  call(kRoot, SYS_close_range, {1, 3, 0}, 0);
  auto t = tables.table(kRoot);
  ASSERT_EQ(t.size(), 2u);
  EXPECT_EQ(t[0].fd, 0);
  EXPECT_EQ(t[1].fd, 4);
}

TEST_F(FdTableTest, CloneSharesNothingWithTheOriginal) {
  memory.strings[0x1000] = "/f";
  call(kRoot, SYS_open, {0x1000, O_RDONLY}, 3);
  call(kRoot, SYS_dup, {3}, 4);
  FdTables copy = tables.clone();
  call(kRoot, SYS_read, {3, 0, 9}, 9);
  call(kRoot, SYS_close, {4}, 0);
  auto t = copy.table(kRoot);
  ASSERT_EQ(t.size(), 5u);
  EXPECT_EQ(t[3].file->offset, 0u);
  EXPECT_EQ(t[3].file, t[4].file);  // still one description in the copy
}

}  // namespace
}  // namespace rrx
