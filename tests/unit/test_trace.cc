// Tests for the trace directory format: writer/reader round trips, saved
// files, refusal of incomplete, newer and damaged traces, permissions and
// trace-directory naming.
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <capnp/message.h>
#include <capnp/serialize.h>
#include <gtest/gtest.h>

#include "core/printable.h"
#include "trace.capnp.h"
#include "trace/chunked_stream.h"
#include "trace/crc32.h"
#include <random>
#include "trace/event_codec.h"
#include "trace/file_util.h"
#include "trace/frame.h"
#include "trace/meta_files.h"
#include "trace/trace_dir.h"
#include "trace/trace_reader.h"
#include "trace/trace_writer.h"

namespace rrx {
namespace {

// A summary of `events` events, the root process ending with `status`.
TraceSummary summary_of(uint64_t events, int32_t status) {
  TraceSummary s;
  s.event_count = events;
  s.exit_status = status;
  return s;
}

// ---------------------------------------------------------------- helpers

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp") +
                       std::string("/rrx-trace-test-XXXXXX");
    path_ = mkdtemp(tmpl.data()) ? tmpl : "";
    EXPECT_FALSE(path_.empty());
  }
  ~TempDir() {
    nftw(
        path_.c_str(),
        [](const char* p, const struct stat*, int, FTW*) { return remove(p); },
        16, FTW_DEPTH | FTW_PHYS);
  }
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const {
    return path_ + "/" + name;
  }

 private:
  std::string path_;
};

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_file(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << data;
}

uint64_t file_size(const std::string& path) {
  struct stat st;
  EXPECT_EQ(stat(path.c_str(), &st), 0) << path;
  return static_cast<uint64_t>(st.st_size);
}

mode_t mode_of(const std::string& path) {
  struct stat st;
  EXPECT_EQ(lstat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

struct stat stat_of(const std::string& path) {
  struct stat st;
  EXPECT_EQ(stat(path.c_str(), &st), 0) << path;
  return st;
}

// Deterministic pseudo-random bytes (xorshift), incompressible enough to
// make chunks realistic.
std::string random_bytes(size_t size, uint64_t seed) {
  std::string out(size, '\0');
  uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
  for (size_t i = 0; i < size; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    out[i] = static_cast<char>(x);
  }
  return out;
}

constexpr EventKind kAllKinds[] = {
    EventKind::kSyscallEntry, EventKind::kSyscallExit, EventKind::kSignal,
    EventKind::kExec,         EventKind::kNewTask,     EventKind::kInstruction,
    EventKind::kExit,         EventKind::kTracerChange};

// An event of `kind` with every field of that kind set to something that
// depends on `seq`.
Event make_event(uint64_t seq, EventKind kind) {
  Event e;
  e.seq = seq;
  e.tid = static_cast<int32_t>(1000 + seq % 7);
  e.kind = kind;
  e.regs.rip = 0x400000 + seq;
  e.regs.rax = seq * 3;
  e.regs.rsp = 0x7ffc00000000 - seq;
  e.regs.orig_rax = seq % 400;
  e.regs.eflags = 0x246;
  switch (kind) {
    case EventKind::kSyscallEntry:
      e.syscall_no = static_cast<int32_t>(seq % 400);
      break;
    case EventKind::kSyscallExit:
      e.syscall_no = static_cast<int32_t>(seq % 400);
      e.writes.push_back({0x7ffc0000 + seq, random_bytes(64 + seq % 300, seq)});
      e.writes.push_back({0x601000, std::string("\0x\0y", 4)});
      e.echo_fd = 1 + static_cast<int32_t>(seq % 2);
      e.echo_data = "line " + std::to_string(seq) + "\n";
      e.echo_crc = static_cast<uint32_t>(seq * 2654435761u);
      e.shm_size = seq % 5 == 0 ? 4096 * seq : 0;
      e.has_mapped_file = seq % 3 == 0;
      if (e.has_mapped_file) e.mapped_file = {"libc.so.6-0", seq * 4096};
      break;
    case EventKind::kSignal:
      e.signo = 11;
      e.siginfo = random_bytes(128, seq);
      e.deterministic = seq % 2 == 0;
      e.tracer = static_cast<SignalTracer>(seq % 3);
      break;
    case EventKind::kExec:
      e.exe_saved_name = "prog-" + std::to_string(seq % 5);
      e.writes.push_back({0x7ffd0000, random_bytes(4096, seq)});
      e.leader_tid = seq % 3 == 0 ? 100 : 0;
      break;
    case EventKind::kNewTask:
      e.new_tid = static_cast<int32_t>(2000 + seq);
      e.clone_flags = 0x3d0f00 + seq;
      break;
    case EventKind::kInstruction:
      for (unsigned i = 0; i < 4; ++i) e.values[i] = seq * 10 + i;
      e.insn_len = 2 + seq % 2;
      break;
    case EventKind::kExit:
      e.exit_status = static_cast<int32_t>(seq % 256) << 8;
      break;
    case EventKind::kTracerChange:
      e.writes.push_back({0x601000 + seq, random_bytes(8, seq)});
      break;
    default:
      break;
  }
  return e;
}

void expect_same(const Event& a, const Event& b) {
  SCOPED_TRACE("event " + std::to_string(a.seq));
  EXPECT_EQ(a.seq, b.seq);
  EXPECT_EQ(a.tid, b.tid);
  EXPECT_EQ(a.kind, b.kind);
  EXPECT_EQ(std::memcmp(&a.regs, &b.regs, sizeof a.regs), 0);
  EXPECT_EQ(a.syscall_no, b.syscall_no);
  ASSERT_EQ(a.writes.size(), b.writes.size());
  for (size_t i = 0; i < a.writes.size(); ++i) {
    EXPECT_EQ(a.writes[i].addr, b.writes[i].addr);
    EXPECT_TRUE(a.writes[i].data == b.writes[i].data);
  }
  EXPECT_EQ(a.echo_fd, b.echo_fd);
  EXPECT_EQ(a.echo_data, b.echo_data);
  EXPECT_EQ(a.echo_crc, b.echo_crc);
  EXPECT_EQ(a.shm_size, b.shm_size);
  EXPECT_EQ(a.has_mapped_file, b.has_mapped_file);
  EXPECT_EQ(a.mapped_file.saved_name, b.mapped_file.saved_name);
  EXPECT_EQ(a.mapped_file.offset, b.mapped_file.offset);
  EXPECT_EQ(a.signo, b.signo);
  EXPECT_EQ(a.siginfo, b.siginfo);
  EXPECT_EQ(a.deterministic, b.deterministic);
  EXPECT_EQ(a.tracer, b.tracer);
  EXPECT_EQ(a.exe_saved_name, b.exe_saved_name);
  EXPECT_EQ(a.leader_tid, b.leader_tid);
  EXPECT_EQ(a.new_tid, b.new_tid);
  EXPECT_EQ(a.clone_flags, b.clone_flags);
  for (unsigned i = 0; i < 4; ++i) EXPECT_EQ(a.values[i], b.values[i]);
  EXPECT_EQ(a.insn_len, b.insn_len);
  EXPECT_EQ(a.exit_status, b.exit_status);
}

TraceHeader make_header() {
  TraceHeader h;
  h.argv = {"/bin/prog", "--flag", std::string("\xff\xfe not utf-8", 12), ""};
  h.cwd = "/home/user/work";
  h.exe_saved_name = "prog-0";
  h.ticks = "none";
  h.root_tid = 4242;
  for (uint64_t i = 0; i < 16; ++i) {
    h.rlimit_cur.push_back(i * 1000);
    h.rlimit_max.push_back(~uint64_t{0} - i);
  }
  return h;
}

// Writes a finished trace holding `events`; returns false on any error.
bool write_trace(const std::string& dir, const std::vector<Event>& events,
                 int exit_status = 0) {
  std::string error;
  auto w = TraceWriter::create(dir, &error);
  EXPECT_TRUE(w) << error;
  if (!w) return false;
  EXPECT_TRUE(w->write_header(make_header(), &error)) << error;
  for (const Event& e : events)
    if (!w->append(e, &error)) {
      ADD_FAILURE() << error;
      return false;
    }
  bool ok = w->finish(summary_of(events.size(), exit_status), &error);
  EXPECT_TRUE(ok) << error;
  return ok;
}

// Enough small events of every kind for several 1 MiB chunks.
std::vector<Event> small_events(size_t count) {
  std::vector<Event> events;
  for (uint64_t seq = 1; seq <= count; ++seq)
    events.push_back(make_event(seq, kAllKinds[seq % 7]));
  return events;
}

// Counts the frames in an events file by walking their headers.
size_t count_chunks(const std::string& path) {
  std::string data = read_file(path);
  size_t count = 0;
  for (size_t off = 0; off < data.size(); ++count) {
    FrameHeader h;
    std::string error;
    EXPECT_TRUE(parse_frame_header(data.data() + off, &h, &error)) << error;
    off += kFrameHeaderSize + h.stored_size;
  }
  return count;
}

// Opens `dir` and reads every event. Returns "" if the whole trace reads
// cleanly, else the one error line that open() or next() produced.
std::string read_all(const std::string& dir, size_t* read_count = nullptr) {
  std::string error;
  auto r = TraceReader::open(dir, &error);
  if (!r) {
    EXPECT_FALSE(error.empty());
    return error;
  }
  Event e;
  size_t n = 0;
  while (r->next(&e, &error)) ++n;
  if (read_count) *read_count = n;
  return error;
}

void expect_one_line_naming(const std::string& error, const std::string& dir) {
  EXPECT_EQ(error.find('\n'), std::string::npos) << error;
  EXPECT_NE(error.find(dir), std::string::npos) << error;
}

// Rewrites `complete` so it vouches for the current `events` file: lets
// tests reach the per-chunk checks of next() past the whole-file check.
void reseal_events(const std::string& dir) {
  CompleteMarker marker;
  std::string error;
  ASSERT_TRUE(decode_marker(read_file(dir + "/complete"), &marker, &error))
      << error;
  std::string events = read_file(dir + "/events");
  marker.events = {events.size(), crc32(events.data(), events.size())};
  write_file(dir + "/complete", encode_marker(marker));
}

void flip_byte(const std::string& path, uint64_t offset) {
  std::string data = read_file(path);
  ASSERT_LT(offset, data.size());
  data[offset] ^= 0x5a;
  write_file(path, data);
}

void truncate_to(const std::string& path, uint64_t size) {
  ASSERT_EQ(truncate(path.c_str(), static_cast<off_t>(size)), 0);
}

// ------------------------------------------------------------- round trip

// The checksum of zeros skipped in O(log n) equals the one of zeros read.
TEST(Crc32, ZerosAsIfRead) {
  const std::string prefix = "some data before the zeros";
  for (size_t n : {0, 1, 7, 8, 9, 4096, 100000}) {
    std::string zeros(n, '\0');
    uint32_t start = crc32(prefix.data(), prefix.size());
    EXPECT_EQ(crc32_zeros(n, start), crc32(zeros.data(), n, start)) << n;
    EXPECT_EQ(crc32_zeros(n), crc32(zeros.data(), n)) << n;
  }
}

// A sparse file's digest (holes counted, not read) is that of its bytes.
TEST(FileDigest, SparseFileAsIfDense) {
  char dir[] = "/tmp/rrx-digest-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  std::string sparse = std::string(dir) + "/sparse", dense = std::string(dir) + "/dense";
  const off_t size = 64 << 20;
  int fd = open(sparse.c_str(), O_RDWR | O_CREAT, 0600);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(ftruncate(fd, size), 0);
  ASSERT_EQ(pwrite(fd, "middle", 6, size / 2), 6);
  ASSERT_EQ(pwrite(fd, "end", 3, size - 3), 3);
  close(fd);
  std::string bytes(size, '\0');
  memcpy(&bytes[size / 2], "middle", 6);
  memcpy(&bytes[size - 3], "end", 3);
  std::ofstream(dense, std::ios::binary).write(bytes.data(), bytes.size());
  uint64_t sparse_size = 0, dense_size = 0;
  uint32_t sparse_crc = 0, dense_crc = 0;
  std::string error;
  ASSERT_TRUE(file_digest(sparse, &sparse_size, &sparse_crc, &error)) << error;
  ASSERT_TRUE(file_digest(dense, &dense_size, &dense_crc, &error)) << error;
  EXPECT_EQ(sparse_size, static_cast<uint64_t>(size));
  EXPECT_EQ(dense_size, static_cast<uint64_t>(size));
  EXPECT_EQ(sparse_crc, dense_crc);
  EXPECT_EQ(dense_crc, crc32(bytes.data(), bytes.size()));
  unlink(sparse.c_str());
  unlink(dense.c_str());
  rmdir(dir);
}

TEST(Printable, EscapesControlBytesBackslashAndNonAscii) {
  EXPECT_EQ(printable("plain /path-1.so"), "plain /path-1.so");
  EXPECT_EQ(printable("a\x1b[31mb\nc"), "a\\x1b[31mb\\x0ac");
  EXPECT_EQ(printable("back\\slash"), "back\\x5cslash");
  EXPECT_EQ(printable("\xc3\xa9\x7f"), "\\xc3\\xa9\\x7f");
  EXPECT_EQ(printable(std::string("nul\0byte", 8)), "nul\\x00byte");
}

TEST(TraceRoundTrip, EveryKindBigAndSmallEventsAcrossChunks) {
  TempDir tmp;
  std::string dir = tmp / "trace";
  std::vector<Event> events = small_events(6000);
  // A 40 MB read() result in the middle of the stream.
  Event big = make_event(0, EventKind::kSyscallExit);
  big.writes = {{0x10000000, random_bytes(40 << 20, 99)}};
  events.insert(events.begin() + 3000, big);
  for (size_t i = 0; i < events.size(); ++i) events[i].seq = i + 1;
  ASSERT_TRUE(write_trace(dir, events, 7 << 8));

  EXPECT_GE(count_chunks(dir + "/events"), 5u);

  std::string error;
  auto r = TraceReader::open(dir, &error);
  ASSERT_TRUE(r) << error;
  EXPECT_TRUE(error.empty());
  EXPECT_EQ(r->summary().event_count, events.size());
  EXPECT_EQ(r->summary().exit_status, 7 << 8);

  TraceHeader want = make_header();
  const TraceHeader& got = r->header();
  EXPECT_EQ(got.version, kTraceVersion);
  EXPECT_EQ(got.argv, want.argv);
  EXPECT_EQ(got.cwd, want.cwd);
  EXPECT_EQ(got.exe_saved_name, want.exe_saved_name);
  EXPECT_EQ(got.ticks, want.ticks);
  EXPECT_EQ(got.root_tid, want.root_tid);
  EXPECT_EQ(got.rlimit_cur, want.rlimit_cur);
  EXPECT_EQ(got.rlimit_max, want.rlimit_max);

  Event e;
  for (const Event& want_event : events) {
    ASSERT_TRUE(r->next(&e, &error)) << error;
    expect_same(want_event, e);
  }
  EXPECT_FALSE(r->next(&e, &error));
  EXPECT_EQ(error, "");
  EXPECT_FALSE(r->next(&e, &error));  // the end stays the end
  EXPECT_EQ(error, "");
}

// Replay checkpoints come back to earlier points of the stream.
TEST(TraceRoundTrip, TellAndSeekReturnToEarlierPoints) {
  TempDir tmp;
  std::string dir = tmp / "trace";
  std::vector<Event> events = small_events(20000);  // several chunks
  ASSERT_TRUE(write_trace(dir, events, 0));
  std::string error;
  auto r = TraceReader::open(dir, &error);
  ASSERT_TRUE(r) << error;
  // Positions at the start, mid-chunk and deep into later chunks.
  std::vector<std::pair<size_t, TraceReader::Position>> marks;
  Event e;
  for (size_t i = 0; i < events.size(); ++i) {
    if (i == 0 || i == 7 || i == 9000 || i == 19999) marks.push_back({i, r->tell()});
    ASSERT_TRUE(r->next(&e, &error)) << error;
  }
  EXPECT_FALSE(r->next(&e, &error));
  for (auto it = marks.rbegin(); it != marks.rend(); ++it) {
    ASSERT_TRUE(r->seek(it->second, &error)) << error;
    for (size_t i = it->first; i < events.size(); ++i) {
      ASSERT_TRUE(r->next(&e, &error)) << error;
      expect_same(events[i], e);
    }
    EXPECT_FALSE(r->next(&e, &error));
    EXPECT_EQ(error, "");
  }
}

TEST(TraceRoundTrip, EmptyEventStream) {
  TempDir tmp;
  ASSERT_TRUE(write_trace(tmp / "t", {}));
  EXPECT_EQ(file_size(tmp / "t/events"), 0u);
  size_t n = 1;
  EXPECT_EQ(read_all(tmp / "t", &n), "");
  EXPECT_EQ(n, 0u);
}

TEST(TraceRoundTrip, EventKindNames) {
  EXPECT_STREQ(event_kind_name(EventKind::kSyscallEntry), "syscall-entry");
  EXPECT_STREQ(event_kind_name(EventKind::kExit), "exit");
  for (EventKind k : kAllKinds) EXPECT_STRNE(event_kind_name(k), "unknown");
}

// ------------------------------------------------------------ writer rules

TEST(TraceWriter, RefusesMisuse) {
  TempDir tmp;
  std::string error;
  write_file(tmp / "busy", "");
  EXPECT_FALSE(TraceWriter::create(tmp.path(), &error));  // not empty
  EXPECT_NE(error.find("not an empty directory"), std::string::npos) << error;

  ASSERT_EQ(mkdir((tmp / "empty").c_str(), 0755), 0);
  auto w = TraceWriter::create(tmp / "empty", &error);
  ASSERT_TRUE(w) << error;
  EXPECT_FALSE(w->append(make_event(1, EventKind::kExit), &error));
  ASSERT_TRUE(w->write_header(make_header(), &error)) << error;
  EXPECT_FALSE(w->write_header(make_header(), &error));
  ASSERT_TRUE(w->append(make_event(5, EventKind::kExit), &error)) << error;
  EXPECT_FALSE(w->append(make_event(5, EventKind::kExit), &error));
  EXPECT_NE(error.find("does not follow"), std::string::npos) << error;
  EXPECT_FALSE(w->finish(summary_of(2, 0), &error));  // one event was appended
  ASSERT_TRUE(w->finish(summary_of(1, 0), &error)) << error;
  EXPECT_FALSE(w->append(make_event(6, EventKind::kExit), &error));
  EXPECT_EQ(read_all(tmp / "empty"), "");
}

// ----------------------------------------------- background chunk writer

// Bytes an event takes in a chunk (its serialized message).
size_t serialized_size(const Event& e) {
  capnp::MallocMessageBuilder message;
  encode_event(e, message.initRoot<proto::Event>());
  return capnp::computeSerializedSizeInWords(message) * 8;
}

// Limits the size of files this process writes (RLIMIT_FSIZE, which binds
// root too) with SIGXFSZ ignored, so writes past `bytes` fail with EFBIG.
class FileSizeLimit {
 public:
  explicit FileSizeLimit(rlim_t bytes) {
    EXPECT_EQ(getrlimit(RLIMIT_FSIZE, &old_), 0);
    old_handler_ = signal(SIGXFSZ, SIG_IGN);
    struct rlimit lim = {bytes, old_.rlim_max};
    EXPECT_EQ(setrlimit(RLIMIT_FSIZE, &lim), 0);
  }
  ~FileSizeLimit() { lift(); }
  void lift() {
    if (lifted_) return;
    lifted_ = true;
    EXPECT_EQ(setrlimit(RLIMIT_FSIZE, &old_), 0);
    signal(SIGXFSZ, old_handler_);
  }

 private:
  struct rlimit old_;
  sighandler_t old_handler_;
  bool lifted_ = false;
};

// Many events over many chunks, with a few outsized ones, come back in
// order through the writer thread and its bounded queue.
TEST(TraceWriterThread, ManyChunksRoundTripInOrder) {
  TempDir tmp;
  std::string dir = tmp / "trace";
  std::vector<Event> events = small_events(60000);
  for (size_t at : {size_t{100}, size_t{20000}, size_t{20001}, size_t{59000}}) {
    Event big = make_event(0, EventKind::kSyscallExit);
    big.writes = {{0x10000000, random_bytes((3 << 20) + at, at)}};
    events.insert(events.begin() + at, big);
  }
  for (size_t i = 0; i < events.size(); ++i) events[i].seq = i + 1;
  ASSERT_TRUE(write_trace(dir, events, 3 << 8));
  EXPECT_GE(count_chunks(dir + "/events"), 20u);

  std::string error;
  auto r = TraceReader::open(dir, &error);
  ASSERT_TRUE(r) << error;
  EXPECT_EQ(r->summary().event_count, events.size());
  Event e;
  for (const Event& want : events) {
    ASSERT_TRUE(r->next(&e, &error)) << error;
    expect_same(want, e);
    if (::testing::Test::HasFailure()) break;
  }
  EXPECT_FALSE(r->next(&e, &error));
  EXPECT_EQ(error, "");
}

// A chunk the writer thread cannot write fails a later append(), then
// every append() and finish(); no completeness marker is written.
TEST(TraceWriterThread, BackgroundWriteErrorSurfacesAtAppend) {
  TempDir tmp;
  std::string dir = tmp / "trace";
  std::string error;
  auto w = TraceWriter::create(dir, &error);
  ASSERT_TRUE(w) << error;
  ASSERT_TRUE(w->write_header(make_header(), &error)) << error;
  FileSizeLimit limit(4096);  // events may not grow past 4 KiB
  // The thread fails on the first chunk. Until it does, the recorder may
  // queue a few more; then append() waits, and sees the failure.
  size_t bytes = 0, appended = 0;
  const size_t bound =
      (ChunkWriter::kMaxQueuedChunks + 3) * ChunkWriter::kChunkTarget;
  std::vector<Event> events = small_events(40000);
  for (const Event& e : events) {
    if (!w->append(e, &error)) break;
    ++appended;
    bytes += serialized_size(e);
    ASSERT_LT(bytes, bound) << "the write error never surfaced";
  }
  ASSERT_LT(appended, events.size());
  std::cout << "  failed after " << appended << " events (" << bytes
            << " bytes): " << error << "\n";
  expect_one_line_naming(error, dir);
  EXPECT_NE(error.find("events: File too large"), std::string::npos) << error;
  limit.lift();
  // Sticky: the same error, whatever comes next.
  std::string again;
  EXPECT_FALSE(w->append(make_event(events.back().seq + 1, EventKind::kExit),
                         &again));
  EXPECT_EQ(again, error);
  EXPECT_FALSE(w->finish(summary_of(appended, 0), &again));
  EXPECT_EQ(again, error);
  w.reset();
  EXPECT_NE(access((dir + "/complete").c_str(), F_OK), 0);
  // Cut short: it reads up to the chunks written before the failure.
  size_t read = 0;
  EXPECT_EQ(read_all(dir, &read), "");
  EXPECT_LT(read, appended);
}

// A failure writing the last chunks is reported by finish(): with the
// writer thread running (one full chunk handed to it just before) and
// without it (less than a chunk: finish() writes it itself).
TEST(TraceWriterThread, BackgroundWriteErrorSurfacesAtFinish) {
  for (bool with_thread : {true, false}) {
    SCOPED_TRACE(with_thread ? "with the thread" : "without");
    TempDir tmp;
    std::string dir = tmp / "trace";
    std::string error;
    auto w = TraceWriter::create(dir, &error);
    ASSERT_TRUE(w) << error;
    ASSERT_TRUE(w->write_header(make_header(), &error)) << error;
    FileSizeLimit limit(4096);
    // Exactly up to the append that hands the first chunk over, which
    // cannot have seen its failure yet.
    size_t bytes = 0, appended = 0;
    const size_t stop = with_thread ? ChunkWriter::kChunkTarget
                                    : ChunkWriter::kChunkTarget / 2;
    // (On a machine so loaded that the appends take half a second, a
    // chunk is handed over earlier for its age, and its failure may
    // surface at a later append instead: reported all the same.)
    bool failed_at_append = false;
    for (const Event& e : small_events(10000)) {
      if (!w->append(e, &error)) {
        failed_at_append = true;
        break;
      }
      ++appended;
      bytes += serialized_size(e);
      if (bytes >= stop) break;
    }
    if (!failed_at_append) {
      EXPECT_FALSE(w->finish(summary_of(appended, 0), &error));
    }
    std::cout << (failed_at_append ? "  append: " : "  finish: ") << error << "\n";
    expect_one_line_naming(error, dir);
    EXPECT_NE(error.find("events: File too large"), std::string::npos)
        << error;
    limit.lift();
    EXPECT_NE(access((dir + "/complete").c_str(), F_OK), 0);
  }
}

// /dev/full: every write fails with ENOSPC.
TEST(TraceWriterThread, ChunkWriterOnAFullDisk) {
  UniqueFd fd(open("/dev/full", O_WRONLY | O_CLOEXEC));
  ASSERT_TRUE(fd.valid());
  ChunkWriter writer(std::move(fd));
  std::string error;
  std::string block = random_bytes(64 << 10, 1);
  int handed = 0;
  for (; handed < 1000; ++handed) {
    std::memcpy(writer.extend(block.size()), block.data(), block.size());
    if (!writer.flush_if_full(&error)) break;
  }
  EXPECT_LT(handed, 1000);
  EXPECT_EQ(error, "events: No space left on device");
  std::string again;
  EXPECT_FALSE(writer.finish(&again));
  EXPECT_EQ(again, error);
}

// While the file does not take data (a pipe nobody reads), the recorder
// queues only a few chunks and then waits; everything arrives in order once
// the reader drains it.
TEST(TraceWriterThread, QueueIsBounded) {
  int fds[2];
  ASSERT_EQ(pipe2(fds, O_CLOEXEC), 0);
  UniqueFd read_end(fds[0]);
  auto writer = std::make_unique<ChunkWriter>(UniqueFd(fds[1]));
  constexpr int kChunks = 16;
  std::atomic<int> handed{0};
  std::thread producer([&] {
    std::string error;
    for (int i = 0; i < kChunks; ++i) {
      // Incompressible, so each frame is larger than the pipe's buffer.
      std::string data = random_bytes(ChunkWriter::kChunkTarget, i + 1);
      std::memcpy(writer->extend(data.size()), data.data(), data.size());
      EXPECT_TRUE(writer->flush_if_full(&error)) << error;
      ++handed;
    }
    writer->finish(&error);  // fsync of a pipe fails: that is fine here
    writer.reset();          // closes the pipe
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  // One chunk stuck in write(), kMaxQueuedChunks queued, the next waiting.
  int queued = handed.load();
  EXPECT_LE(queued, static_cast<int>(ChunkWriter::kMaxQueuedChunks) + 1);
  EXPECT_GE(queued, 1);
  std::cout << "  handed over while blocked: " << queued << " of " << kChunks
            << "\n";
  std::string data;
  char buf[1 << 16];
  for (;;) {
    ssize_t n = read(read_end.get(), buf, sizeof buf);
    if (n <= 0) break;
    data.append(buf, static_cast<size_t>(n));
  }
  producer.join();
  EXPECT_EQ(handed.load(), kChunks);
  size_t off = 0;
  for (int i = 0; i < kChunks; ++i) {
    SCOPED_TRACE("chunk " + std::to_string(i));
    ASSERT_LE(off + kFrameHeaderSize, data.size());
    FrameHeader h;
    std::string error;
    ASSERT_TRUE(parse_frame_header(data.data() + off, &h, &error)) << error;
    Words words;
    ASSERT_TRUE(decode_payload(h, data.data() + off + kFrameHeaderSize, &words,
                               &error))
        << error;
    EXPECT_TRUE(std::memcmp(words.data(),
                            random_bytes(ChunkWriter::kChunkTarget, i + 1).data(),
                            ChunkWriter::kChunkTarget) == 0);
    off += kFrameHeaderSize + h.stored_size;
  }
  EXPECT_EQ(off, data.size());
}

// Destroying the writer without finish() while its thread has a full queue
// returns promptly (writing what was queued) and leaves a trace cut short,
// made of whole chunks.
TEST(TraceWriterThread, DestructionWithoutFinishLeavesNoMarker) {
  TempDir tmp;
  std::string dir = tmp / "trace";
  std::string error;
  auto w = TraceWriter::create(dir, &error);
  ASSERT_TRUE(w) << error;
  ASSERT_TRUE(w->write_header(make_header(), &error)) << error;
  for (const Event& e : small_events(30000)) ASSERT_TRUE(w->append(e, &error));
  auto start = std::chrono::steady_clock::now();
  w.reset();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  EXPECT_NE(access((dir + "/complete").c_str(), F_OK), 0);
  count_chunks(dir + "/events");  // whole frames only
  size_t read = 0;
  EXPECT_EQ(read_all(dir, &read), "");
  EXPECT_LE(read, 30000u);
}

// ------------------------------------------------------------- saved files

class SavedFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    writer_ = TraceWriter::create(dir_, &error);
    ASSERT_TRUE(writer_) << error;
    ASSERT_TRUE(writer_->write_header(make_header(), &error)) << error;
  }
  std::string save(const std::string& path, bool may_link) {
    std::string error;
    std::string name = writer_->save_file(path, stat_of(path), may_link, &error);
    EXPECT_FALSE(name.empty()) << error;
    return name;
  }
  void finish() {
    std::string error;
    ASSERT_TRUE(writer_->finish(summary_of(0, 0), &error)) << error;
  }

  TempDir tmp_;
  std::string dir_ = tmp_ / "trace";
  std::unique_ptr<TraceWriter> writer_;
};

TEST_F(SavedFiles, DedupLinkCopyAndVerify) {
  std::string lib = tmp_ / "libfoo.so";
  write_file(lib, random_bytes(100000, 1));
  ASSERT_EQ(mkdir((tmp_ / "other").c_str(), 0700), 0);
  std::string other = tmp_ / "other/libfoo.so";
  write_file(other, "different contents");
  std::string odd = tmp_ / "we ird:name";
  write_file(odd, "x");

  std::string linked = save(lib, true);
  EXPECT_EQ(linked, "libfoo.so-0");
  EXPECT_EQ(save(lib, true), linked);   // same dev/ino/size/mtime
  EXPECT_EQ(save(lib, false), linked);  // dedup ignores how it was saved
  std::string copied = save(other, false);
  EXPECT_EQ(copied, "libfoo.so-1");
  EXPECT_EQ(save(odd, false), "we_ird_name-0");

  // Hardlinked: same inode. Copied: a new inode, mode 0600.
  EXPECT_EQ(stat_of(dir_ + "/files/" + linked).st_ino, stat_of(lib).st_ino);
  EXPECT_NE(stat_of(dir_ + "/files/" + copied).st_ino, stat_of(other).st_ino);
  EXPECT_EQ(mode_of(dir_ + "/files/" + copied), 0600);

  // A new mtime is a new version of the file.
  struct timespec times[2] = {{0, UTIME_OMIT}, {1234567, 890}};
  ASSERT_EQ(utimensat(AT_FDCWD, lib.c_str(), times, 0), 0);
  EXPECT_EQ(save(lib, false), "libfoo.so-2");
  finish();

  std::string error;
  auto r = TraceReader::open(dir_, &error);
  ASSERT_TRUE(r) << error;
  std::string path = r->saved_file_path(copied, &error);
  EXPECT_EQ(error, "");
  ASSERT_FALSE(path.empty());
  EXPECT_EQ(path[0], '/');
  EXPECT_EQ(read_file(path), "different contents");
  EXPECT_EQ(read_file(r->saved_file_path(linked, &error)),
            random_bytes(100000, 1));
  EXPECT_EQ(r->saved_file_path("nope-0", &error), "");
  EXPECT_NE(error.find("no saved file named 'nope-0'"), std::string::npos);

  // Changing a saved copy (same size) is detected by a later reader.
  flip_byte(dir_ + "/files/" + copied, 3);
  r = TraceReader::open(dir_, &error);
  ASSERT_TRUE(r) << error;
  EXPECT_EQ(r->saved_file_path(copied, &error), "");
  expect_one_line_naming(error, r->dir());
  EXPECT_NE(error.find("has changed since it was recorded"), std::string::npos)
      << error;
  std::cout << "  modified saved file: " << error << "\n";

  // So is changing a hardlinked original (they are one file).
  write_file(lib, "rewritten");
  EXPECT_EQ(r->saved_file_path(linked, &error), "");
  EXPECT_NE(error.find("has changed"), std::string::npos) << error;
}

TEST_F(SavedFiles, CrossDeviceLinkFallsBackToCopy) {
  std::string shm = "/dev/shm/rrx-trace-test-" + std::to_string(getpid());
  write_file(shm, "on another file system");
  if (stat_of(shm).st_dev == stat_of(dir_).st_dev) {
    unlink(shm.c_str());
    GTEST_SKIP() << "/dev/shm is on the trace's file system";
  }
  std::string name = save(shm, true);
  EXPECT_NE(stat_of(dir_ + "/files/" + name).st_ino, stat_of(shm).st_ino);
  EXPECT_EQ(mode_of(dir_ + "/files/" + name), 0600);
  unlink(shm.c_str());
  finish();
  std::string error;
  auto r = TraceReader::open(dir_, &error);
  ASSERT_TRUE(r) << error;
  EXPECT_EQ(read_file(r->saved_file_path(name, &error)),
            "on another file system");
}

// Reads a field such as VmHWM from /proc/self/status, in KiB.
long status_kib(const char* field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(field, 0) == 0) return std::stol(line.substr(strlen(field) + 1));
  return -1;
}

TEST_F(SavedFiles, LargeFileIsStreamed) {
  std::string big = tmp_ / "big.bin";
  const off_t size = off_t{300} << 20;
  {
    int fd = open(big.c_str(), O_WRONLY | O_CREAT, 0644);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(ftruncate(fd, size), 0);  // sparse: cheap to make
    ASSERT_EQ(pwrite(fd, "end", 3, size - 3), 3);
    close(fd);
  }
  // "5" resets the peak RSS, so VmHWM then measures this save alone.
  bool can_measure = false;
  {
    std::ofstream clear("/proc/self/clear_refs");
    clear << "5";
    clear.flush();
    can_measure = clear.good();
  }
  long peak_before = status_kib("VmHWM:");
  std::string name = save(big, false);
  if (can_measure) {
    EXPECT_LT(status_kib("VmHWM:") - peak_before, 64 * 1024)
        << "saving a 300 MB file must not read it into memory";
  }
  EXPECT_EQ(file_size(dir_ + "/files/" + name), static_cast<uint64_t>(size));
  finish();
  std::string error;
  auto r = TraceReader::open(dir_, &error);
  ASSERT_TRUE(r) << error;
  EXPECT_FALSE(r->saved_file_path(name, &error).empty()) << error;
}

// ----------------------------------------------------------- permissions

TEST(TracePermissions, DirIs0700AndFilesAre0600WhateverTheUmask) {
  for (mode_t mask : {mode_t{0}, mode_t{022}, mode_t{077}}) {
    TempDir tmp;
    std::string dir = tmp / "t";
    std::string src = tmp / "src";
    write_file(src, "data");
    mode_t old = umask(mask);
    std::string error;
    auto w = TraceWriter::create(dir, &error);
    ASSERT_TRUE(w) << error;
    ASSERT_TRUE(w->write_header(make_header(), &error));
    ASSERT_TRUE(w->append(make_event(1, EventKind::kExit), &error));
    std::string copy = w->save_file(src, stat_of(src), false, &error);
    ASSERT_TRUE(w->finish(summary_of(1, 0), &error)) << error;
    umask(old);

    SCOPED_TRACE("umask " + std::to_string(mask));
    EXPECT_EQ(mode_of(dir), 0700);
    EXPECT_EQ(mode_of(dir + "/files"), 0700);
    for (const char* f : {"version", "header", "events", "files.manifest",
                          "complete"})
      EXPECT_EQ(mode_of(dir + "/" + f), 0600) << f;
    EXPECT_EQ(mode_of(dir + "/files/" + copy), 0600);
    EXPECT_EQ(read_file(dir + "/version"), "rrx-trace " + std::to_string(kTraceVersion) + "\n");
  }
}

// ------------------------------------------------------- refused traces

class RefusedTrace : public ::testing::Test {
 protected:
  // Opening must fail with one line naming the trace and containing `what`.
  void expect_refused(const std::string& dir, const std::string& what) {
    std::string error;
    EXPECT_FALSE(TraceReader::open(dir, &error));
    expect_one_line_naming(error, dir);
    EXPECT_NE(error.find(what), std::string::npos) << error;
    std::cout << "  " << error << "\n";
  }
  TempDir tmp_;
};

TEST_F(RefusedTrace, MissingNotADirectoryEmptyOrForeign) {
  expect_refused(tmp_ / "missing", "does not exist");
  write_file(tmp_ / "plain", "x");
  expect_refused(tmp_ / "plain", "is not a directory");
  ASSERT_EQ(mkdir((tmp_ / "empty").c_str(), 0700), 0);
  expect_refused(tmp_ / "empty", "is not an rrx trace");
  ASSERT_EQ(mkdir((tmp_ / "foreign").c_str(), 0700), 0);
  write_file(tmp_ / "foreign/notes.txt", "hello");
  expect_refused(tmp_ / "foreign", "is not an rrx trace (no version file)");
}

TEST_F(RefusedTrace, EndedBeforeTheHeader) {
  std::string dir = tmp_ / "t";
  std::string error;
  ASSERT_TRUE(TraceWriter::create(dir, &error)) << error;
  expect_refused(dir, "is incomplete: the recording ended before it started");
}

// ------------------------------------------------ traces cut short

// The recorder died (destroyed without finish()): the trace opens as cut
// short and reads every event handed to the writer, in order.
TEST(CutShortTrace, ReadsEveryFlushedEvent) {
  TempDir tmp;
  std::string dir = tmp / "t";
  std::string error;
  auto events = small_events(100);
  {
    auto w = TraceWriter::create(dir, &error);
    ASSERT_TRUE(w) << error;
    ASSERT_TRUE(w->write_header(make_header(), &error));
    for (size_t i = 0; i < 60; ++i) ASSERT_TRUE(w->append(events[i], &error));
    ASSERT_TRUE(w->flush_events(&error)) << error;
    // Never handed over: lost with the recorder.
    for (size_t i = 60; i < 100; ++i) ASSERT_TRUE(w->append(events[i], &error));
  }
  auto r = TraceReader::open(dir, &error);
  ASSERT_TRUE(r) << error;
  EXPECT_TRUE(r->cut_short());
  Event e;
  uint64_t seq = 0;
  while (r->next(&e, &error)) EXPECT_EQ(e.seq, ++seq);
  EXPECT_EQ(error, "");
  EXPECT_EQ(seq, 60u);
}

// A chunk cut off in the middle (the recorder killed while writing it)
// ends the events where the last whole chunk ends.
TEST(CutShortTrace, EndsBeforeAChunkCutOff) {
  TempDir tmp;
  std::string dir = tmp / "t";
  std::string error;
  auto events = small_events(100);
  {
    auto w = TraceWriter::create(dir, &error);
    ASSERT_TRUE(w) << error;
    ASSERT_TRUE(w->write_header(make_header(), &error));
    for (size_t i = 0; i < 100; ++i) {
      ASSERT_TRUE(w->append(events[i], &error));
      if (i == 49 || i == 99) {
        ASSERT_TRUE(w->flush_events(&error)) << error;
      }
    }
  }
  ASSERT_EQ(count_chunks(dir + "/events"), 2u);
  std::string whole = read_file(dir + "/events");
  write_file(dir + "/events", whole.substr(0, whole.size() - 7));
  size_t read = 0;
  EXPECT_EQ(read_all(dir, &read), "");
  EXPECT_EQ(read, 50u);
}

// Saved files are listed as they are saved, so a trace cut short still
// hands them out (checked against their manifest entry).
TEST(CutShortTrace, KeepsSavedFiles) {
  TempDir tmp;
  std::string dir = tmp / "t";
  std::string source = tmp / "lib.so";
  write_file(source, "contents of a library");
  struct stat st;
  ASSERT_EQ(stat(source.c_str(), &st), 0);
  std::string error, name;
  {
    auto w = TraceWriter::create(dir, &error);
    ASSERT_TRUE(w) << error;
    ASSERT_TRUE(w->write_header(make_header(), &error));
    name = w->save_file(source, st, false, &error);
    ASSERT_FALSE(name.empty()) << error;
  }
  auto r = TraceReader::open(dir, &error);
  ASSERT_TRUE(r) << error;
  EXPECT_TRUE(r->cut_short());
  EXPECT_EQ(read_file(r->saved_file_path(name, &error)), "contents of a library") << error;
  EXPECT_EQ(r->saved_file_path("other-0", &error), "");
}

TEST_F(RefusedTrace, NewerVersion) {
  std::string dir = tmp_ / "t";
  ASSERT_TRUE(write_trace(dir, small_events(10)));
  std::string newer = std::to_string(kTraceVersion + 1);
  write_file(dir + "/version", "rrx-trace " + newer + "\n");
  expect_refused(dir, "was written by a newer rrx (trace version " + newer +
                          "; this rrx reads up to " + std::to_string(kTraceVersion) + ")");
  write_file(dir + "/version", "rrx-trace one\n");
  expect_refused(dir, "is not an rrx trace (version file does not read");
}

// ------------------------------------------------------- damaged traces

// Every file of a small multi-chunk trace, damaged in several ways, must
// give one clean error line from open() or next(), never a crash or hang.
class DamagedTrace : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(write_trace(pristine_, small_events(kEvents)));
    ASSERT_GE(count_chunks(pristine_ + "/events"), 2u);
  }

  // A fresh copy of the pristine trace to damage.
  std::string fresh_copy() {
    std::string dir = tmp_ / ("copy" + std::to_string(copies_++));
    EXPECT_EQ(mkdir(dir.c_str(), 0700), 0);
    EXPECT_EQ(mkdir((dir + "/files").c_str(), 0700), 0);
    for (const char* f :
         {"version", "header", "events", "files.manifest", "complete"})
      write_file(dir + "/" + f, read_file(pristine_ + "/" + f));
    return dir;
  }

  void expect_damage_reported(const std::string& dir, const std::string& what) {
    SCOPED_TRACE(what);
    std::string error = read_all(dir);
    EXPECT_FALSE(error.empty()) << "damage not detected";
    expect_one_line_naming(error, dir);
    std::cout << "  " << what << ": " << error << "\n";
  }

  // Offsets to damage in a file of `size` bytes: the start, the frame
  // header fields, the middle and the end.
  static std::vector<uint64_t> offsets(uint64_t size) {
    std::vector<uint64_t> out;
    for (uint64_t off : {uint64_t{0}, uint64_t{5}, uint64_t{9}, uint64_t{17},
                         uint64_t{25}, uint64_t{29}, uint64_t{40}, size / 2,
                         size - 1})
      if (off < size) out.push_back(off);
    return out;
  }

  static constexpr size_t kEvents = 4000;
  TempDir tmp_;
  std::string pristine_ = tmp_ / "pristine";
  int copies_ = 0;
};

TEST_F(DamagedTrace, PristineCopyReads) {
  size_t n = 0;
  EXPECT_EQ(read_all(fresh_copy(), &n), "");
  EXPECT_EQ(n, kEvents);
}

TEST_F(DamagedTrace, FlippedByteInEachFile) {
  for (const char* f :
       {"version", "header", "events", "complete", "files.manifest"}) {
    uint64_t size = file_size(pristine_ + "/" + f);
    for (uint64_t off : offsets(size)) {
      std::string dir = fresh_copy();
      flip_byte(dir + "/" + f, off);
      expect_damage_reported(
          dir, std::string("flip ") + f + " @" + std::to_string(off));
    }
  }
}

TEST_F(DamagedTrace, TruncatedEachFile) {
  for (const char* f :
       {"version", "header", "events", "complete", "files.manifest"}) {
    uint64_t size = file_size(pristine_ + "/" + f);
    for (uint64_t len : {uint64_t{0}, uint64_t{1}, size / 2, size - 1}) {
      if (len >= size) continue;  // an empty files.manifest: no files saved
      std::string dir = fresh_copy();
      truncate_to(dir + "/" + f, len);
      expect_damage_reported(
          dir, std::string("truncate ") + f + " to " + std::to_string(len));
    }
  }
}

// Found by tests/fuzz: a FIFO as `complete` blocked open() forever. Every
// single-frame file (and the version file) must be a regular file of the
// trace: not a FIFO, a device, or a symlink, even to an intact copy.
TEST_F(DamagedTrace, SpecialFilesInsteadOfTopLevelFiles) {
  for (const char* f : {"version", "header", "complete", "files.manifest"}) {
    for (const char* kind : {"fifo", "devzero", "outside"}) {
      std::string dir = fresh_copy();
      std::string path = dir + "/" + f;
      std::string outside = tmp_ / (std::string("outside-") + f);
      write_file(outside, read_file(path));
      ASSERT_EQ(unlink(path.c_str()), 0);
      std::string k = kind;
      int made = k == "fifo"      ? mkfifo(path.c_str(), 0600)
                 : k == "devzero" ? symlink("/dev/zero", path.c_str())
                                  : symlink(outside.c_str(), path.c_str());
      ASSERT_EQ(made, 0);
      std::string error;
      EXPECT_FALSE(TraceReader::open(dir, &error)) << f << " as " << kind;
      expect_one_line_naming(error, dir);
      std::cout << "  " << f << " as " << kind << ": " << error << "\n";
    }
  }
}

TEST_F(DamagedTrace, MissingFiles) {
  for (const char* f : {"header", "events", "files.manifest"}) {
    std::string dir = fresh_copy();
    unlink((dir + "/" + f).c_str());
    expect_damage_reported(dir, std::string("missing ") + f);
  }
}

// Damage the whole-file check at open() cannot see (the marker is resealed
// over the damaged stream) must still be caught chunk by chunk in next().
TEST_F(DamagedTrace, StreamDamageCaughtByNext) {
  uint64_t size = file_size(pristine_ + "/events");
  for (uint64_t off : offsets(size)) {
    std::string dir = fresh_copy();
    flip_byte(dir + "/events", off);
    reseal_events(dir);
    std::string error;
    ASSERT_TRUE(TraceReader::open(dir, &error)) << error;
    expect_damage_reported(dir, "resealed flip events @" + std::to_string(off));
  }
  for (uint64_t len : {uint64_t{1}, uint64_t{40}, size / 2, size - 1}) {
    std::string dir = fresh_copy();
    truncate_to(dir + "/events", len);
    reseal_events(dir);
    expect_damage_reported(dir, "resealed truncate events to " +
                                    std::to_string(len));
  }
}

// Found by tests/fuzz: a chunk header claiming a raw size of 2 GiB, its
// header CRC recomputed, made next() allocate (and zero) 2 GiB before
// noticing that the zstd frame inside says otherwise.
TEST_F(DamagedTrace, LyingRawSizeAllocatesNothing) {
  std::string dir = fresh_copy();
  std::string events = read_file(dir + "/events");
  uint64_t raw_size = uint64_t{2} << 30;
  std::memcpy(events.data() + 16, &raw_size, 8);
  uint32_t header_crc = crc32(events.data(), 28);
  std::memcpy(events.data() + 28, &header_crc, 4);
  write_file(dir + "/events", events);
  reseal_events(dir);
  bool can_measure = false;
  {
    std::ofstream clear("/proc/self/clear_refs");
    clear << "5";  // resets the peak RSS
    clear.flush();
    can_measure = clear.good();
  }
  long peak_before = status_kib("VmHWM:");
  std::string error = read_all(dir);
  EXPECT_NE(error.find("zstd frame size disagrees"), std::string::npos) << error;
  if (can_measure) {
    EXPECT_LT(status_kib("VmHWM:") - peak_before, 64 * 1024);
  }
}

// The same lie told by the zstd frame too: its content size field and the
// frame header agree on 2 GiB, but its one raw block holds 8 bytes.
TEST_F(DamagedTrace, LyingZstdContentSizeAllocatesNothing) {
  std::string dir = fresh_copy();
  uint64_t raw_size = uint64_t{2} << 30;
  // Magic, descriptor (single segment, 8-byte content size), content size,
  // then a last raw block (header: last bit, type 0, size 8) of 8 bytes.
  std::string zstd("\x28\xb5\x2f\xfd\xe0", 5);
  zstd.append(reinterpret_cast<const char*>(&raw_size), 8);
  zstd += std::string("\x41\x00\x00", 3) + std::string(8, '\0');
  std::string header(kFrameHeaderSize, '\0');
  uint32_t codec = 1, payload_crc = crc32(zstd.data(), zstd.size());
  uint64_t stored_size = zstd.size();
  std::memcpy(header.data(), "RRXF", 4);
  std::memcpy(header.data() + 4, &codec, 4);
  std::memcpy(header.data() + 8, &stored_size, 8);
  std::memcpy(header.data() + 16, &raw_size, 8);
  std::memcpy(header.data() + 24, &payload_crc, 4);
  uint32_t header_crc = crc32(header.data(), 28);
  std::memcpy(header.data() + 28, &header_crc, 4);
  write_file(dir + "/events", header + zstd);
  reseal_events(dir);
  bool can_measure = false;
  {
    std::ofstream clear("/proc/self/clear_refs");
    clear << "5";
    clear.flush();
    can_measure = clear.good();
  }
  long peak_before = status_kib("VmHWM:");
  std::string error = read_all(dir);
  EXPECT_NE(error.find("zstd frame holds less than its content size"), std::string::npos)
      << error;
  if (can_measure) {
    EXPECT_LT(status_kib("VmHWM:") - peak_before, 64 * 1024);
  }
}

TEST_F(DamagedTrace, MissingLastChunkCaughtByEventCount) {
  std::string dir = fresh_copy();
  std::string events = read_file(dir + "/events");
  FrameHeader first;
  std::string error;
  ASSERT_TRUE(parse_frame_header(events.data(), &first, &error));
  write_file(dir + "/events",
             events.substr(0, kFrameHeaderSize + first.stored_size));
  reseal_events(dir);
  size_t n = 0;
  error = read_all(dir, &n);
  EXPECT_GT(n, 0u);
  EXPECT_NE(error.find("the summary says " + std::to_string(kEvents)),
            std::string::npos)
      << error;
  std::cout << "  missing last chunk: " << error << "\n";
}

// Chunks whose frame is intact but whose contents are not valid events.
TEST_F(DamagedTrace, WellFramedGarbageCaughtByNext) {
  auto append_chunk = [](const std::string& dir, const std::string& raw) {
    std::string frame, error;
    ZSTD_CCtx* cctx = ZSTD_createCCtx();
    ASSERT_TRUE(encode_frame(Codec::kZstd, raw.data(), raw.size(), cctx,
                             &frame, &error))
        << error;
    ZSTD_freeCCtx(cctx);
    write_file(dir + "/events", read_file(dir + "/events") + frame);
    reseal_events(dir);
  };
  struct Case {
    const char* what;
    std::string raw;
  };
  std::string huge_segment(16, '\0');  // one segment of 2^32-1 words
  huge_segment[4] = huge_segment[5] = huge_segment[6] = huge_segment[7] = '\xff';
  std::string bad_pointer(24, '\0');  // one segment, root pointer far away
  bad_pointer[4] = 2;
  bad_pointer[8] = '\xfc';
  bad_pointer[12] = '\xff';
  bad_pointer[14] = '\x7f';
  for (const Case& c : {Case{"random words", random_bytes(4096, 5)},
                        Case{"huge segment", huge_segment},
                        Case{"wild pointer", bad_pointer},
                        Case{"empty message", std::string(8, '\0')}}) {
    std::string dir = fresh_copy();
    append_chunk(dir, c.raw);
    std::string error;
    ASSERT_TRUE(TraceReader::open(dir, &error)) << error;
    expect_damage_reported(dir, c.what);
  }
  // A valid message that is not a valid event: registers of the wrong size.
  std::string dir = fresh_copy();
  {
    std::string error;
    TempDir other;
    Event e = make_event(kEvents + 1, EventKind::kExit);
    ASSERT_TRUE(write_trace(other / "t", {e}));
    std::string events = read_file(other / "t/events");
    FrameHeader h;
    ASSERT_TRUE(parse_frame_header(events.data(), &h, &error));
    Words words;
    ASSERT_TRUE(decode_payload(h, events.data() + kFrameHeaderSize, &words,
                               &error));
    std::string raw(reinterpret_cast<const char*>(words.data()),
                    words.size() * 8);
    // The 216 regs bytes follow a list pointer whose size field says 216;
    // make it say 208 (the pointer's upper 29 bits hold the element count).
    uint64_t want = (uint64_t{216} << 35) | (uint64_t{2} << 32);
    size_t at = std::string::npos;
    for (size_t i = 0; i + 8 <= raw.size(); i += 8) {
      uint64_t w;
      std::memcpy(&w, raw.data() + i, 8);
      if ((w & 0xffffffff00000003ull) == (want | 1)) at = i;
    }
    ASSERT_NE(at, std::string::npos);
    uint64_t w;
    std::memcpy(&w, raw.data() + at, 8);
    w = (w & 0x7ffffffffull) | (uint64_t{208} << 35);
    std::memcpy(raw.data() + at, &w, 8);
    append_chunk(dir, raw);
  }
  std::string error = read_all(dir);
  EXPECT_NE(error.find("208 bytes of registers"), std::string::npos) << error;
  std::cout << "  short registers: " << error << "\n";
}

// ------------------------------------------------------ trace directories

class EnvGuard {
 public:
  explicit EnvGuard(const char* name) : name_(name) {
    const char* v = getenv(name);
    had_ = v != nullptr;
    if (had_) old_ = v;
  }
  ~EnvGuard() {
    if (had_)
      setenv(name_, old_.c_str(), 1);
    else
      unsetenv(name_);
  }

 private:
  const char* name_;
  bool had_;
  std::string old_;
};

TEST(TraceDir, DefaultRootPrecedence) {
  EnvGuard a("RRX_TRACE_DIR"), b("XDG_DATA_HOME"), c("HOME");
  setenv("HOME", "/home/tester", 1);
  unsetenv("RRX_TRACE_DIR");
  unsetenv("XDG_DATA_HOME");
  EXPECT_EQ(default_trace_root(), "/home/tester/.local/share/rrx");
  setenv("XDG_DATA_HOME", "relative/ignored", 1);
  EXPECT_EQ(default_trace_root(), "/home/tester/.local/share/rrx");
  setenv("XDG_DATA_HOME", "/xdg", 1);
  EXPECT_EQ(default_trace_root(), "/xdg/rrx");
  setenv("RRX_TRACE_DIR", "/traces", 1);
  EXPECT_EQ(default_trace_root(), "/traces");
  EXPECT_EQ(resolve_trace(""), "/traces/latest-trace");
  EXPECT_EQ(resolve_trace("/some/trace"), "/some/trace");
}

TEST(TraceDir, NextTraceDirNumbering) {
  TempDir tmp;
  std::string root = tmp / "a/b/root";
  std::string error;
  std::string first = next_trace_dir(root, "/usr/bin/ls", &error);
  EXPECT_EQ(first, root + "/ls-0") << error;
  EXPECT_EQ(mode_of(root), 0700);
  EXPECT_EQ(mode_of(tmp / "a"), 0700);
  EXPECT_EQ(next_trace_dir(root, "ls", &error), root + "/ls-0");  // not made
  ASSERT_TRUE(write_trace(first, {}));
  EXPECT_EQ(next_trace_dir(root, "./ls", &error), root + "/ls-1");
  ASSERT_EQ(mkdir((root + "/ls-1").c_str(), 0700), 0);
  ASSERT_EQ(mkdir((root + "/ls-2").c_str(), 0700), 0);
  EXPECT_EQ(next_trace_dir(root, "ls", &error), root + "/ls-3");
  ASSERT_EQ(rmdir((root + "/ls-1").c_str()), 0);
  EXPECT_EQ(next_trace_dir(root, "ls", &error), root + "/ls-1");  // smallest
  EXPECT_EQ(next_trace_dir(root, "/opt/tool/", &error), root + "/tool-0");
  write_file(tmp / "file", "");
  EXPECT_EQ(next_trace_dir(tmp / "file", "ls", &error), "");
  EXPECT_FALSE(error.empty());
}

TEST(TraceDir, LatestTraceSymlink) {
  TempDir tmp;
  EnvGuard guard("RRX_TRACE_DIR");
  std::string root = tmp / "root";
  setenv("RRX_TRACE_DIR", root.c_str(), 1);
  std::string error;
  std::string t0 = next_trace_dir(root, "prog", &error);
  ASSERT_TRUE(write_trace(t0, small_events(3)));
  ASSERT_TRUE(update_latest_trace(root, t0, &error)) << error;
  std::string t1 = next_trace_dir(root, "prog", &error);
  ASSERT_TRUE(write_trace(t1, small_events(5)));

  char target[256] = {};
  ASSERT_GT(readlink((root + "/latest-trace").c_str(), target, 255), 0);
  EXPECT_STREQ(target, "prog-0");  // relative: survives moving the root

  ASSERT_TRUE(update_latest_trace(root, t1, &error)) << error;
  std::memset(target, 0, sizeof target);
  ASSERT_GT(readlink((root + "/latest-trace").c_str(), target, 255), 0);
  EXPECT_STREQ(target, "prog-1");
  // Only the two traces and the link remain: no temporary link left over.
  std::vector<std::string> entries;
  DIR* d = opendir(root.c_str());
  while (dirent* e = readdir(d))
    if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0)
      entries.push_back(e->d_name);
  closedir(d);
  std::sort(entries.begin(), entries.end());
  EXPECT_EQ(entries,
            (std::vector<std::string>{"latest-trace", "prog-0", "prog-1"}));

  auto r = TraceReader::open(resolve_trace(""), &error);
  ASSERT_TRUE(r) << error;
  EXPECT_EQ(r->dir(), t1);
  EXPECT_EQ(r->summary().event_count, 5u);

  // An absolute target for a trace outside the root.
  std::string elsewhere = tmp / "elsewhere";
  ASSERT_TRUE(update_latest_trace(root, elsewhere, &error)) << error;
  std::memset(target, 0, sizeof target);
  ASSERT_GT(readlink((root + "/latest-trace").c_str(), target, 255), 0);
  EXPECT_EQ(std::string(target), elsewhere);
}

// The folding path (PCLMULQDQ, 64 bytes and up) against the table one:
// every length around its block sizes, unaligned starts, chained calls.
TEST(Crc32, FoldedEqualsTable) {
  std::mt19937 random(7);
  std::string data(70000, '\0');
  for (char& c : data) c = static_cast<char>(random());
  for (size_t size : {0, 1, 15, 16, 17, 63, 64, 65, 79, 80, 127, 128, 129, 191, 192, 200, 255,
                      256, 257, 1000, 4096, 65536, 69990}) {
    for (size_t offset : {0, 1, 3, 8}) {
      for (uint32_t start : {0u, 0xffffffffu, 0x12345678u}) {
        const char* p = data.data() + offset;
        EXPECT_EQ(crc32(p, size, start), crc32_by_table(p, size, start))
            << "size " << size << " offset " << offset << " start " << start;
      }
    }
  }
  // The IEEE check value, and a chain equal to one call.
  EXPECT_EQ(crc32("123456789", 9), 0xCBF43926u);
  uint32_t chained = crc32(data.data(), 300);
  chained = crc32(data.data() + 300, 5000, chained);
  EXPECT_EQ(chained, crc32_by_table(data.data(), 5300));
}

}  // namespace
}  // namespace rrx
