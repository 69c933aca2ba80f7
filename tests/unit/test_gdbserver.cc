// Tests for the gdb remote protocol server: codec round trips, scripted
// conversations against a fake target, the transports, and a session with
// the real gdb over a Unix socket.
#include <fcntl.h>
#include <signal.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <map>
#include <cstdio>
#include <cstdlib>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "gdbserver/amd64_registers.h"
#include "gdbserver/gdb_server.h"
#include "gdbserver/rsp_codec.h"
#include "gdbserver/server_transport.h"

namespace rrx {
namespace {

// ---------------------------------------------------------------- fake target

constexpr pid_t kPid = 0x64;
constexpr uint64_t kCodeStart = 0x401000;
constexpr uint64_t kStackTop = 0x7ffff000;

// A tiny "recording": positions 0..kEnd; each step moves rip by one byte.
// Memory is a code page of known bytes and a stack page. Writes are refused
// as a replay outside a diversion refuses them.
class FakeTarget : public DebugTarget {
 public:
  static constexpr int kEnd = 100;
  int position = 1;
  ThreadId current{kPid, kPid};
  std::set<uint64_t> breakpoints;
  std::vector<ResumeRequest> resumes;

  std::vector<ThreadId> threads() override { return {{kPid, kPid}, {kPid, kPid + 1}}; }
  ThreadId current_thread() override { return current; }

  bool read_registers(const ThreadId& thread, RegisterFile* regs) override {
    if (thread.pid != kPid || (thread.tid != kPid && thread.tid != kPid + 1)) return false;
    *regs = RegisterFile{};
    regs->gpr.rip = kCodeStart + position;
    regs->gpr.rsp = kStackTop - 0x100;
    regs->gpr.rbp = kStackTop - 0x80;
    regs->gpr.rax = 0x1122334455667788;
    regs->gpr.eflags = 0x246;
    regs->gpr.cs = 0x33;
    regs->gpr.orig_rax = static_cast<unsigned long long>(-1);
    regs->gpr.fs_base = 0x7ffff7d8a740;
    regs->fpr.cwd = 0x37f;
    regs->fpr.mxcsr = 0x1f80;
    regs->fpr.xmm_space[0] = 0xdeadbeef;
    regs->ymmh[15][0] = 0xab;
    return true;
  }
  bool write_registers(const ThreadId&, const RegisterFile&, std::string* error) override {
    *error = "replay: cannot write registers outside a diversion";
    return false;
  }
  std::vector<uint8_t> read_memory(uint64_t address, size_t length) override {
    std::vector<uint8_t> out;
    for (uint64_t a = address; a < address + length; ++a) {
      if (a >= kCodeStart && a < kCodeStart + 0x1000) {
        out.push_back(static_cast<uint8_t>(a - kCodeStart));
      } else if (a >= kStackTop - 0x1000 && a < kStackTop) {
        out.push_back(0);
      } else {
        break;
      }
    }
    return out;
  }
  bool write_memory(uint64_t, const std::vector<uint8_t>&, std::string* error) override {
    *error = "replay: cannot write memory outside a diversion";
    return false;
  }
  bool insert_breakpoint(BreakpointKind kind, uint64_t address, size_t) override {
    if (kind != BreakpointKind::kSoftware) return false;
    breakpoints.insert(address);
    return true;
  }
  bool remove_breakpoint(BreakpointKind, uint64_t address, size_t) override {
    return breakpoints.erase(address) == 1;
  }

  StopReason resume(const ResumeRequest& request) override {
    resumes.push_back(request);
    if (request.thread) current = *request.thread;
    bool reverse = request.direction == Direction::kReverse;
    int delta = reverse ? -1 : 1;
    bool step = request.action == ResumeRequest::Action::kStep;
    for (;;) {
      if (reverse && position == 0) return {.kind = StopReason::Kind::kHistoryStart, .thread = current};
      if (!reverse && position == kEnd) return {.kind = StopReason::Kind::kHistoryEnd, .thread = current};
      if (!step && request.interrupted()) return {.thread = current, .signal = SIGINT};
      position += delta;
      if (step) return {.thread = current};
      if (breakpoints.count(kCodeStart + position)) {
        return {.kind = StopReason::Kind::kBreakpoint, .thread = current};
      }
    }
  }

  std::vector<uint8_t> auxv() override { return {6, 0, 0, 0, 0, 0, 0, 0, 0, 0x23, 0, 0, 0, 0, 0, 0}; }
  std::string exec_file() override { return exec_path; }
  std::string libraries_svr4_xml() override { return ""; }
  std::vector<uint8_t> siginfo(const ThreadId&) override { return {}; }
  bool memory_region(uint64_t address, MemoryRegion* region) override {
    if (address < kCodeStart || address >= kCodeStart + 0x1000) return false;
    *region = {.start = kCodeStart, .size = 0x1000, .mapped = true, .readable = true,
               .executable = true, .name = "/bin/fake"};
    return true;
  }
  bool monitor(const std::string& command, std::string* output) override {
    if (command == "when") {
      *output = "Current event: 42\n";
      return true;
    }
    *output = "unknown command: " + command + "\n";
    return false;
  }

  std::string exec_path;
};

// ---------------------------------------------------------------- client

// Plays the debugger's side: frames requests, splits the server's output.
class Client {
 public:
  explicit Client(GdbServer* server) : server_(server) {}

  // Every packet the server sent in answer to `payload`.
  std::vector<std::string> exchange(const std::string& payload) {
    return receive(server_->feed(rsp::frame(payload)));
  }
  // The last (usually only) reply packet.
  std::string request(const std::string& payload) {
    auto packets = exchange(payload);
    return packets.empty() ? "<none>" : packets.back();
  }
  std::vector<std::string> receive(const std::string& raw) {
    last_raw = raw;
    rsp::PacketDecoder decoder;
    decoder.feed(raw);
    std::vector<std::string> packets;
    while (auto unit = decoder.next()) {
      EXPECT_NE(unit->kind, rsp::Incoming::Kind::kBadPacket);
      if (unit->kind == rsp::Incoming::Kind::kPacket) packets.push_back(unit->payload);
    }
    return packets;
  }
  void handshake(const std::string& features) {
    request("qSupported:" + features);
    request("QStartNoAckMode");
  }

  std::string last_raw;

 private:
  GdbServer* server_;
};

constexpr char kGdbFeatures[] =
    "multiprocess+;swbreak+;hwbreak+;qRelocInsn+;fork-events+;vfork-events+;"
    "exec-events+;vContSupported+;QThreadEvents+;no-resumed+;memory-tagging+";
constexpr char kLldbFeatures[] = "xmlRegisters=i386,arm,mips,arc;multiprocess+;fork-events+;vfork-events+";

std::string hex_of(const std::string& s) { return rsp::to_hex(s); }

// ---------------------------------------------------------------- codec

TEST(RspCodec, FrameAndChecksum) {
  EXPECT_EQ(rsp::checksum("OK"), 0x9a);
  EXPECT_EQ(rsp::frame("OK"), "$OK#9a");
  EXPECT_EQ(rsp::frame(""), "$#00");
}

TEST(RspCodec, HexHelpers) {
  EXPECT_EQ(rsp::to_hex("\x01\xab\xff", 3), "01abff");
  auto bytes = rsp::from_hex("01ABff");
  ASSERT_TRUE(bytes);
  EXPECT_EQ(*bytes, (std::vector<uint8_t>{1, 0xab, 0xff}));
  EXPECT_FALSE(rsp::from_hex("abc"));
  EXPECT_FALSE(rsp::from_hex("zz"));
  EXPECT_EQ(rsp::parse_hex_number("7fff0000"), 0x7fff0000u);
  EXPECT_FALSE(rsp::parse_hex_number(""));
  EXPECT_FALSE(rsp::parse_hex_number("12345678123456789"));
  EXPECT_EQ(rsp::hex_number(0), "0");
  EXPECT_EQ(rsp::hex_number(0x401000), "401000");
}

TEST(RspCodec, BinaryEscapeRoundTrip) {
  std::string all;
  for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
  std::string escaped = rsp::escape_binary(all);
  EXPECT_EQ(escaped.size(), 256u + 4);  // # $ } * each gain a '}'
  EXPECT_EQ(escaped.find('#'), std::string::npos);
  EXPECT_EQ(escaped.find('$'), std::string::npos);
  EXPECT_EQ(rsp::unescape_binary(escaped), all);
  EXPECT_EQ(rsp::escape_binary("a#b"), "a}\x03" "b");
}

TEST(RspCodec, DecoderSplitsUnits) {
  rsp::PacketDecoder decoder;
  decoder.feed("+$g#6");  // checksum split across reads
  decoder.feed("7-\x03$m0,1#00");
  auto a = decoder.next();
  ASSERT_TRUE(a);
  EXPECT_EQ(a->kind, rsp::Incoming::Kind::kAck);
  auto g = decoder.next();
  ASSERT_TRUE(g);
  EXPECT_EQ(g->kind, rsp::Incoming::Kind::kPacket);
  EXPECT_EQ(g->payload, "g");
  EXPECT_EQ(decoder.next()->kind, rsp::Incoming::Kind::kNack);
  EXPECT_TRUE(decoder.interrupt_pending());
  EXPECT_EQ(decoder.next()->kind, rsp::Incoming::Kind::kInterrupt);
  EXPECT_FALSE(decoder.interrupt_pending());
  EXPECT_EQ(decoder.next()->kind, rsp::Incoming::Kind::kBadPacket);
  EXPECT_FALSE(decoder.next());
}

TEST(RspCodec, InterruptByteInsideBinaryPacketIsData) {
  // X data holds a raw 0x03 and an escaped '#' ("}\x03").
  std::string payload = "X401000,3:\x03}\x03z";
  rsp::PacketDecoder decoder;
  decoder.feed(rsp::frame(payload));
  EXPECT_FALSE(decoder.interrupt_pending());
  auto unit = decoder.next();
  ASSERT_TRUE(unit);
  EXPECT_EQ(unit->kind, rsp::Incoming::Kind::kPacket);
  EXPECT_EQ(unit->payload, payload);
  EXPECT_EQ(rsp::unescape_binary(unit->payload.substr(10)), "\x03#z");
}

TEST(RspCodec, OverlongPacketIsDroppedAndTheNextOneReads) {
  rsp::PacketDecoder decoder(16);
  decoder.feed("$" + std::string(1000, 'a') + "#00");
  decoder.feed(rsp::frame("g"));
  auto dropped = decoder.next();
  ASSERT_TRUE(dropped);
  EXPECT_EQ(dropped->kind, rsp::Incoming::Kind::kTooLong);
  EXPECT_TRUE(dropped->payload.empty());
  auto g = decoder.next();
  ASSERT_TRUE(g);
  EXPECT_EQ(g->kind, rsp::Incoming::Kind::kPacket);
  EXPECT_EQ(g->payload, "g");
}

TEST(RspCodec, QueueOfUnitsIsBoundedButKeepsACtrlC) {
  rsp::PacketDecoder decoder;
  decoder.feed(std::string(100000, '+') + "\x03");
  EXPECT_TRUE(decoder.interrupt_pending());
  size_t units = 0;
  while (decoder.next()) ++units;
  EXPECT_LE(units, 1025u);
  EXPECT_GE(units, 1000u);
}

// ---------------------------------------------------------------- registers

// Sum of bitsize over target.xml and everything it includes, by regnum.
std::map<int, int> described_registers() {
  std::map<int, int> sizes;
  auto target = amd64::target_description("target.xml");
  EXPECT_TRUE(target);
  std::regex include(R"re(xi:include href="([^"]+)")re");
  std::regex reg(R"re(<reg name="[^"]+" bitsize="(\d+)"[^>]*regnum="(\d+)")re");
  for (std::sregex_iterator it(target->begin(), target->end(), include), end; it != end; ++it) {
    auto feature = amd64::target_description((*it)[1].str());
    EXPECT_TRUE(feature) << (*it)[1];
    if (!feature) continue;
    for (std::sregex_iterator r(feature->begin(), feature->end(), reg); r != end; ++r) {
      sizes[std::stoi((*r)[2])] = std::stoi((*r)[1]);
    }
  }
  return sizes;
}

TEST(Amd64Registers, DescriptionMatchesGPacketLayout) {
  auto sizes = described_registers();
  ASSERT_EQ(static_cast<int>(sizes.size()), amd64::register_count());
  size_t bytes = 0;
  int expected_regnum = 0;
  for (auto [regnum, bits] : sizes) {
    EXPECT_EQ(regnum, expected_regnum++);
    EXPECT_EQ(amd64::register_size(regnum), static_cast<size_t>(bits / 8)) << regnum;
    bytes += bits / 8;
  }
  EXPECT_EQ(amd64::all_registers(RegisterFile{}).size(), bytes);
  auto target = *amd64::target_description("target.xml");
  EXPECT_NE(target.find("<architecture>i386:x86-64</architecture>"), std::string::npos);
  EXPECT_NE(target.find("<osabi>GNU/Linux</osabi>"), std::string::npos);
  EXPECT_FALSE(amd64::target_description("nope.xml"));
}

TEST(Amd64Registers, X87TagWordRoundTrip) {
  RegisterFile regs;
  regs.fpr.swd = 7 << 11;  // top = 7: st0 is physical register 7
  regs.fpr.ftw = 0x80;     // only physical register 7 in use
  // st0 = 1.0: exponent 0x3fff, explicit integer bit set.
  auto* st0 = reinterpret_cast<uint8_t*>(&regs.fpr.st_space[0]);
  st0[7] = 0x80;
  st0[8] = 0xff;
  st0[9] = 0x3f;
  std::vector<uint8_t> tag;
  ASSERT_TRUE(amd64::get_register(regs, 34, &tag));  // ftag
  EXPECT_EQ(tag, (std::vector<uint8_t>{0xff, 0x3f, 0, 0}));  // reg 7 valid, rest empty
  RegisterFile copy;
  amd64::set_register(&copy, 34, tag.data());
  EXPECT_EQ(copy.fpr.ftw, 0x80);
}

// ---------------------------------------------------------------- protocol

class GdbServerTest : public ::testing::Test {
 protected:
  FakeTarget target;
  GdbServer server{&target};
  Client client{&server};
};

TEST_F(GdbServerTest, AcksUntilNoAckMode) {
  EXPECT_EQ(server.feed(rsp::frame("qSupported:" + std::string(kGdbFeatures))).substr(0, 2), "+$");
  EXPECT_EQ(server.feed("$g#00"), "-");  // bad checksum
  std::string ok = server.feed(rsp::frame("QStartNoAckMode"));
  EXPECT_EQ(ok, "+$OK#9a");
  EXPECT_EQ(server.feed("-"), "");  // nacks are ignored without acks
  EXPECT_EQ(server.feed(rsp::frame("qAttached")), rsp::frame("1"));
}

TEST_F(GdbServerTest, NackResendsLastPacket) {
  std::string first = server.feed(rsp::frame("qAttached"));
  EXPECT_EQ(first, "+" + rsp::frame("1"));
  EXPECT_EQ(server.feed("-"), rsp::frame("1"));
}

TEST_F(GdbServerTest, PacketOverPacketSizeGetsAnErrorAndTheSessionGoesOn) {
  client.handshake(kGdbFeatures);
  // 400 KB of X data, over the advertised PacketSize (0x20000).
  std::string reply = client.request("X401000,61a80:" + std::string(400000, 'a'));
  EXPECT_EQ(reply.substr(0, 1), "E") << reply;
  EXPECT_EQ(client.request("qAttached"), "1");
}

TEST_F(GdbServerTest, QSupportedAdvertisesFeatures) {
  std::string reply = client.request("qSupported:" + std::string(kGdbFeatures));
  for (const char* feature :
       {"PacketSize=", "QStartNoAckMode+", "qXfer:features:read+", "qXfer:auxv:read+",
        "qXfer:exec-file:read+", "qXfer:libraries-svr4:read+", "ReverseContinue+",
        "ReverseStep+", "swbreak+", "hwbreak+", "vContSupported+", "multiprocess+"}) {
    EXPECT_NE(reply.find(feature), std::string::npos) << feature << " in " << reply;
  }
  // Never binary-upload: gdb 13 has no x packet, lldb-19 wants its own form.
  EXPECT_EQ(reply.find("binary-upload"), std::string::npos);
}

TEST_F(GdbServerTest, ThreadsAndStopReply) {
  client.handshake(kGdbFeatures);
  EXPECT_EQ(client.request("qfThreadInfo"), "mp64.64,p64.65");
  EXPECT_EQ(client.request("qsThreadInfo"), "l");
  EXPECT_EQ(client.request("qC"), "QCp64.64");
  EXPECT_EQ(client.request("Tp64.65"), "OK");
  EXPECT_EQ(client.request("Tp64.99"), "E01");
  std::string stop = client.request("?");
  EXPECT_EQ(stop.substr(0, 3), "T05");
  EXPECT_NE(stop.find("thread:p64.64;"), std::string::npos) << stop;
  EXPECT_NE(stop.find("10:0110400000000000;"), std::string::npos) << stop;  // rip
}

TEST_F(GdbServerTest, PlainThreadIdsWithoutMultiprocess) {
  client.handshake("swbreak+");
  EXPECT_EQ(client.request("qfThreadInfo"), "m64,65");
  EXPECT_EQ(client.request("Hg65"), "OK");
  EXPECT_EQ(client.request("qC"), "QC64");
}

TEST_F(GdbServerTest, RegistersMatchDescription) {
  client.handshake(kGdbFeatures);
  std::string g = client.request("g");
  size_t bytes = 0;
  for (auto [regnum, bits] : described_registers()) bytes += bits / 8;
  EXPECT_EQ(g.size(), 2 * bytes);
  EXPECT_EQ(g.substr(0, 16), "8877665544332211");                   // rax
  EXPECT_EQ(client.request("p10"), "0110400000000000");              // rip
  EXPECT_EQ(client.request("p11"), "46020000");                      // eflags, 32 bits
  EXPECT_EQ(client.request("p28"), "efbeadde000000000000000000000000");  // xmm0
  EXPECT_EQ(client.request("p38"), "801f0000");                      // mxcsr
  EXPECT_EQ(client.request("p39"), "ffffffffffffffff");              // orig_rax
  EXPECT_EQ(client.request("p4b"), "ab000000000000000000000000000000");  // ymm15h
  EXPECT_EQ(client.request("p4c"), "E01");
}

TEST_F(GdbServerTest, WritesAreRefusedWithTheTargetsMessage) {
  client.handshake(kGdbFeatures);
  EXPECT_EQ(client.request("P0=0100000000000000"),
            "E.replay: cannot write registers outside a diversion");
  std::string g = client.request("g");
  EXPECT_EQ(client.request("G" + g).substr(0, 2), "E.");
  EXPECT_EQ(client.request("M401000,2:9090"),
            "E.replay: cannot write memory outside a diversion");
  EXPECT_EQ(client.request("X401000,0:"), "OK");  // gdb's probe of X support
  EXPECT_EQ(client.request("X401000,1:\x90").substr(0, 2), "E.");
}

TEST_F(GdbServerTest, LldbGetsNumericErrors) {
  client.handshake(kLldbFeatures);
  EXPECT_EQ(client.request("P0=0100000000000000"), "E01");
  EXPECT_EQ(client.request("QEnableErrorStrings"), "OK");
  EXPECT_EQ(client.request("M401000,1:90"),
            "E01;" + hex_of("replay: cannot write memory outside a diversion"));
}

TEST_F(GdbServerTest, ReadsMemory) {
  client.handshake(kGdbFeatures);
  EXPECT_EQ(client.request("m401010,4"), "10111213");
  EXPECT_EQ(client.request("m401ffe,4"), "feff");  // short read at the end
  EXPECT_EQ(client.request("m10,4"), "E01");
  EXPECT_EQ(client.request("m401000"), "E01");
}

TEST_F(GdbServerTest, BinaryMemoryReadFormats) {
  client.handshake(kLldbFeatures);
  EXPECT_EQ(client.request("x0,0"), "OK");
  // Bytes 0x23 ('#') and 0x24 ('$') come back escaped; lldb: no prefix.
  EXPECT_EQ(client.request("x401022,3"), "\"}\x03}\x04");

  FakeTarget other;
  GdbServer gdb_server(&other);
  Client gdb(&gdb_server);
  gdb.handshake(kGdbFeatures);
  EXPECT_EQ(gdb.request("x401022,3"), "b\"}\x03}\x04");
}

TEST_F(GdbServerTest, BreakpointThenContinueStopsWithSwbreak) {
  client.handshake(kGdbFeatures);
  EXPECT_EQ(client.request("Z0,401005,1"), "OK");
  EXPECT_EQ(client.request("Z1,401006,1"), "E01");  // the fake has no hw breaks
  EXPECT_EQ(client.request("Z9,401006,1"), "");
  std::string stop = client.request("vCont;c");
  EXPECT_EQ(stop.substr(0, 3), "T05") << stop;
  EXPECT_NE(stop.find("swbreak:;"), std::string::npos) << stop;
  EXPECT_NE(stop.find("10:0510400000000000;"), std::string::npos) << stop;
  EXPECT_EQ(client.request("z0,401005,1"), "OK");
  EXPECT_EQ(client.request("z0,401005,1"), "E01");
}

TEST_F(GdbServerTest, VContStepNamesTheThread) {
  client.handshake(kGdbFeatures);
  EXPECT_EQ(client.request("vCont?"), "vCont;c;C;s;S");
  std::string stop = client.request("vCont;s:p64.65;c");
  EXPECT_NE(stop.find("thread:p64.65;"), std::string::npos) << stop;
  ASSERT_EQ(target.resumes.size(), 1u);
  EXPECT_EQ(target.resumes[0].action, ResumeRequest::Action::kStep);
  EXPECT_EQ(target.resumes[0].thread, (ThreadId{kPid, kPid + 1}));
  EXPECT_EQ(target.position, 2);
}

TEST_F(GdbServerTest, ReverseToStartOfHistoryForGdb) {
  client.handshake(kGdbFeatures);
  std::string step = client.request("bs");
  EXPECT_EQ(step.substr(0, 3), "T05");
  EXPECT_EQ(step.find("replaylog"), std::string::npos);
  EXPECT_EQ(target.position, 0);
  std::string stop = client.request("bc");
  EXPECT_NE(stop.find("replaylog:begin;"), std::string::npos) << stop;
  EXPECT_EQ(target.resumes.back().direction, Direction::kReverse);
}

TEST_F(GdbServerTest, EndOfHistoryIsAStopNotAnExit) {
  client.handshake(kGdbFeatures);
  std::string stop = client.request("c");
  EXPECT_EQ(stop.substr(0, 3), "T05") << stop;
  EXPECT_NE(stop.find("replaylog:end;"), std::string::npos) << stop;
}

TEST_F(GdbServerTest, LldbStartOfHistoryIsAnException) {
  client.handshake(kLldbFeatures);
  target.position = 0;
  std::string stop = client.request("bc");
  EXPECT_EQ(stop.substr(0, 3), "T05");
  EXPECT_EQ(stop.find("replaylog"), std::string::npos) << stop;
  EXPECT_NE(stop.find("reason:exception;description:" + hex_of("start of recorded history") + ";"),
            std::string::npos)
      << stop;
}

TEST_F(GdbServerTest, LldbDirectionPacketAndThreadSuffix) {
  client.handshake(kLldbFeatures);
  EXPECT_EQ(client.request("QThreadSuffixSupported"), "OK");
  EXPECT_EQ(client.request("p10;thread:65;"), "0110400000000000");
  EXPECT_EQ(client.request("QRRXDirection:reverse"), "OK");
  client.request("s");
  EXPECT_EQ(target.resumes.back().direction, Direction::kReverse);
  EXPECT_EQ(target.position, 0);
  EXPECT_EQ(client.request("QRRXDirection:forward"), "OK");
  client.request("vCont;s:65");
  EXPECT_EQ(target.resumes.back().direction, Direction::kForward);
  EXPECT_EQ(target.resumes.back().thread, (ThreadId{kPid, kPid + 1}));
}

TEST_F(GdbServerTest, LldbHostAndRegionInfo) {
  client.handshake(kLldbFeatures);
  std::string host = client.request("qHostInfo");
  EXPECT_NE(host.find("triple:" + hex_of("x86_64-pc-linux-gnu") + ";"), std::string::npos);
  EXPECT_NE(host.find("ptrsize:8;"), std::string::npos);
  EXPECT_EQ(client.request("qProcessInfo").substr(0, 7), "pid:64;");
  EXPECT_EQ(client.request("qMemoryRegionInfo:401234"),
            "start:401000;size:1000;permissions:rx;name:" + hex_of("/bin/fake") + ";");
  EXPECT_EQ(client.request("qMemoryRegionInfo:10"), "E01");
}

TEST_F(GdbServerTest, MonitorCommandRoundTrip) {
  client.handshake(kGdbFeatures);
  auto packets = client.exchange("qRcmd," + hex_of("when"));
  ASSERT_EQ(packets.size(), 2u);
  EXPECT_EQ(packets[0], "O" + hex_of("Current event: 42\n"));
  EXPECT_EQ(packets[1], "OK");
  packets = client.exchange("qRcmd," + hex_of("frobnicate"));
  ASSERT_EQ(packets.size(), 2u);
  EXPECT_EQ(packets[0], "O" + hex_of("unknown command: frobnicate\n"));
  EXPECT_EQ(packets[1], "E01");
}

TEST_F(GdbServerTest, XferObjects) {
  client.handshake(kGdbFeatures);
  std::string target_xml = *amd64::target_description("target.xml");
  std::string first = client.request("qXfer:features:read:target.xml:0,10");
  EXPECT_EQ(first, "m" + target_xml.substr(0, 16));
  std::string rest = client.request("qXfer:features:read:target.xml:10,10000");
  EXPECT_EQ(rest, "l" + target_xml.substr(16));
  EXPECT_EQ(client.request("qXfer:features:read:64bit-avx.xml:0,ffff").substr(0, 1), "l");
  EXPECT_EQ(client.request("qXfer:features:read:missing.xml:0,ffff"), "E00");
  EXPECT_EQ(client.request("qXfer:auxv:read::8,100"), std::string("l\0}\x03", 4) + std::string(6, '\0'));
  target.exec_path = "/usr/bin/true";
  EXPECT_EQ(client.request("qXfer:exec-file:read:64:0,fff"), "l/usr/bin/true");
  EXPECT_EQ(client.request("qXfer:libraries-svr4:read::0,fff"), "E01");
}

TEST_F(GdbServerTest, CtrlCWhileRunningStopsWithSigint) {
  client.handshake(kGdbFeatures);
  int polls = 0;
  server.set_input_poll([&polls]() -> std::string { return ++polls == 3 ? "\x03" : ""; });
  std::string stop = client.request("c");
  EXPECT_EQ(stop.substr(0, 3), "T02") << stop;
  EXPECT_EQ(polls, 3);
  // The Ctrl-C was consumed: the next continue runs to the end.
  server.set_input_poll({});
  EXPECT_NE(client.request("c").find("replaylog:end"), std::string::npos);
}

TEST_F(GdbServerTest, CtrlCBeforeTheResumeRequestIsHonoured) {
  client.handshake(kGdbFeatures);
  auto packets = client.receive(server.feed(rsp::frame("c") + "\x03"));
  ASSERT_EQ(packets.size(), 1u);
  EXPECT_EQ(packets[0].substr(0, 3), "T02");
}

TEST_F(GdbServerTest, DetachAndKillEndTheSession) {
  client.handshake(kGdbFeatures);
  EXPECT_EQ(client.request("D;64"), "OK");
  EXPECT_TRUE(server.finished());

  FakeTarget other;
  GdbServer killed(&other);
  Client c2(&killed);
  c2.handshake(kGdbFeatures);
  EXPECT_TRUE(c2.exchange("k").empty());
  EXPECT_TRUE(killed.finished());
}

TEST_F(GdbServerTest, UnknownPacketsGetEmptyReplies) {
  client.handshake(kGdbFeatures);
  EXPECT_EQ(client.request("vMustReplyEmpty"), "");
  EXPECT_EQ(client.request("qTStatus"), "");
  EXPECT_EQ(client.request("jThreadsInfo"), "");
  EXPECT_EQ(client.request("qSymbol::"), "OK");
  EXPECT_EQ(client.request("qAttached:64"), "1");
}

// ---------------------------------------------------------------- transports

TEST(ServerTransport, UnixSocketInPrivateDirectory) {
  std::string error;
  auto transport = ServerTransport::listen_unix(&error);
  ASSERT_TRUE(transport) << error;
  std::string path = transport->address();
  std::string dir = path.substr(0, path.rfind('/'));
  struct stat st;
  ASSERT_EQ(stat(dir.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  transport.reset();
  EXPECT_NE(stat(dir.c_str(), &st), 0);  // cleaned up
}

TEST(ServerTransport, PortInUseIsOneClearLine) {
  std::string error;
  auto first = ServerTransport::listen_tcp(0, &error);
  ASSERT_TRUE(first) << error;
  std::string port = first->address().substr(first->address().rfind(':') + 1);
  auto second = ServerTransport::listen_tcp(static_cast<uint16_t>(std::stoi(port)), &error);
  EXPECT_FALSE(second);
  EXPECT_EQ(error, "rrx: cannot listen on 127.0.0.1:" + port + ": Address already in use");
}

// A debugger client on a real socket, speaking raw RSP.
class SocketClient {
 public:
  // `address` as ServerTransport::address(): a socket path or 127.0.0.1:PORT.
  explicit SocketClient(const std::string& address) {
    size_t colon = address.rfind(':');
    if (address[0] == '/') {
      sockaddr_un to{};
      to.sun_family = AF_UNIX;
      snprintf(to.sun_path, sizeof to.sun_path, "%s", address.c_str());
      fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
      connected_ = connect(fd_, reinterpret_cast<sockaddr*>(&to), sizeof to) == 0;
    } else {
      sockaddr_in to{};
      to.sin_family = AF_INET;
      to.sin_port = htons(static_cast<uint16_t>(std::stoi(address.substr(colon + 1))));
      to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      connected_ = connect(fd_, reinterpret_cast<sockaddr*>(&to), sizeof to) == 0;
    }
  }
  ~SocketClient() { close(fd_); }
  bool connected() const { return connected_; }

  // Sends `payload` framed and returns everything up to the end of the
  // reply packet ("+$...#xx"), or what came before the server hung up.
  std::string request(const std::string& payload) {
    std::string framed = rsp::frame(payload);
    if (write(fd_, framed.data(), framed.size()) != static_cast<ssize_t>(framed.size())) return "";
    std::string in;
    char c;
    size_t hash = std::string::npos;
    while ((hash == std::string::npos || in.size() < hash + 3) && read(fd_, &c, 1) == 1) {
      in += c;
      if (c == '#' && hash == std::string::npos) hash = in.size() - 1;
    }
    return in;
  }
  // True once the server has closed the connection.
  bool hung_up() {
    char c;
    return read(fd_, &c, 1) == 0;
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
};

// A second debugger is turned away with an error it can show, and the
// first one goes on as if nothing happened.
void check_second_debugger_turned_away(ServerTransport* transport) {
  FakeTarget target;
  std::string error;
  bool served = false;
  std::thread server([&] { served = transport->serve_one(&target, &error); });
  SocketClient first(transport->address());
  ASSERT_TRUE(first.connected());
  EXPECT_EQ(first.request("qC"), "+" + rsp::frame("QC64"));

  SocketClient second(transport->address());
  ASSERT_TRUE(second.connected());
  std::string why = "rrx: turned away a debugger on " + transport->address() +
                    ": another debugger is connected, and a replay serves one at a time";
  EXPECT_EQ(second.request("qSupported:xmlRegisters=i386"), "+" + rsp::frame("E." + why));
  EXPECT_TRUE(second.hung_up());
  // lldb opens with QStartNoAckMode: it gets a plain hang-up, which it reports.
  SocketClient lldb(transport->address());
  ASSERT_TRUE(lldb.connected());
  EXPECT_EQ(lldb.request("QStartNoAckMode"), "");

  EXPECT_EQ(first.request("qC"), "+" + rsp::frame("QC64"));
  EXPECT_EQ(first.request("D"), "+" + rsp::frame("OK"));
  server.join();
  EXPECT_TRUE(served) << error;
}

TEST(ServerTransport, SecondDebuggerOnUnixSocketIsTurnedAway) {
  std::string error;
  auto transport = ServerTransport::listen_unix(&error);
  ASSERT_TRUE(transport) << error;
  check_second_debugger_turned_away(transport.get());
}

TEST(ServerTransport, SecondDebuggerOnTcpIsTurnedAway) {
  std::string error;
  auto transport = ServerTransport::listen_tcp(0, &error);
  ASSERT_TRUE(transport) << error;
  check_second_debugger_turned_away(transport.get());
}

// Another uid is refused on TCP (it could read the recorded memory), told
// why, and the owner still gets in afterwards.
TEST(ServerTransport, OtherUserRefusedOnTcp) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to connect as another uid";
  constexpr uid_t kNobody = 65534;
  std::string error;
  auto transport = ServerTransport::listen_tcp(0, &error);
  ASSERT_TRUE(transport) << error;
  FakeTarget target;
  bool served = false;
  std::thread server([&] { served = transport->serve_one(&target, &error); });

  int reply_pipe[2];
  ASSERT_EQ(pipe(reply_pipe), 0);
  pid_t child = fork();
  if (child == 0) {
    if (setgid(kNobody) != 0 || setuid(kNobody) != 0) _exit(2);
    SocketClient intruder(transport->address());
    std::string reply = intruder.request("m401000,4");
    bool sent = write(reply_pipe[1], reply.data(), reply.size()) == static_cast<ssize_t>(reply.size());
    // Served instead of refused: leave, which ends that session.
    if (reply.rfind("+$E.", 0) != 0) _exit(4);
    _exit(sent && intruder.hung_up() ? 0 : 3);
  }
  close(reply_pipe[1]);
  std::string reply;
  char buf[512];
  ssize_t n;
  while ((n = read(reply_pipe[0], buf, sizeof buf)) > 0) reply.append(buf, n);
  close(reply_pipe[0]);
  int status = 0;
  waitpid(child, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  EXPECT_EQ(reply, "+" + rsp::frame("E.rrx: refused a debugger connection from uid 65534 on " +
                                    transport->address() + ": only root may connect"));
  if (HasFailure()) {
    server.join();  // it served the intruder, who left
    return;
  }

  SocketClient owner(transport->address());
  ASSERT_TRUE(owner.connected());
  EXPECT_EQ(owner.request("m401000,4"), "+" + rsp::frame("00010203"));
  EXPECT_EQ(owner.request("D"), "+" + rsp::frame("OK"));
  server.join();
  EXPECT_TRUE(served) << error;
}

// ---------------------------------------------------------------- real gdb

// gdb's `target remote | COMMAND` starts this test binary again with
// RRX_TEST_STDIO_SERVER set: it then serves a FakeTarget on stdin/stdout
// and exits before gtest starts (gtest would write to stdout).
const bool kStdioServerChild = [] {
  if (!getenv("RRX_TEST_STDIO_SERVER")) return false;
  FakeTarget target;
  target.position = 2;
  std::string error;
  bool ok = serve_stdio(&target, &error);
  if (!ok) fprintf(stderr, "%s\n", error.c_str());
  _exit(ok ? 0 : 1);
}();

// Runs `gdb -batch -nx` with the given commands; returns its stdout+stderr.
std::string run_gdb(const std::vector<std::string>& commands, int* status) {
  int out[2];
  if (pipe(out) != 0) return "";
  pid_t child = fork();
  if (child == 0) {
    setenv("RRX_TEST_STDIO_SERVER", "1", 1);  // only gdb's `| COMMAND` child serves
    dup2(out[1], 1);
    dup2(out[1], 2);
    close(out[0]);
    std::vector<std::string> args = {"gdb", "-batch", "-nx", "-ex", "set remotetimeout 10"};
    for (const auto& c : commands) {
      args.push_back("-ex");
      args.push_back(c);
    }
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execvp("gdb", argv.data());
    _exit(127);
  }
  close(out[1]);
  std::string output;
  char buf[4096];
  ssize_t n;
  while ((n = read(out[0], buf, sizeof buf)) > 0) output.append(buf, n);
  close(out[0]);
  waitpid(child, status, 0);
  return output;
}

bool have_gdb() { return system("gdb --version >/dev/null 2>&1") == 0; }

TEST(RealGdb, SessionOverUnixSocket) {
  if (!have_gdb()) GTEST_SKIP() << "gdb is not installed";
  std::string error;
  auto transport = ServerTransport::listen_unix(&error);
  ASSERT_TRUE(transport) << error;
  FakeTarget target;
  target.position = 2;
  bool served = false;
  std::thread server([&] { served = transport->serve_one(&target, &error); });

  int status = 0;
  std::string out = run_gdb(
      {"target remote " + transport->address(), "info registers rip", "x/4xb 0x401010",
       "monitor when", "set $rax = 1", "reverse-stepi", "info registers rip", "reverse-stepi",
       "reverse-stepi", "break *0x401008", "continue", "info registers rip", "detach"},
      &status);
  server.join();
  SCOPED_TRACE(out);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  EXPECT_TRUE(served) << error;
  EXPECT_NE(out.find("rip            0x401002"), std::string::npos);
  EXPECT_NE(out.find("0x401010:\t0x10\t0x11\t0x12\t0x13"), std::string::npos);
  EXPECT_NE(out.find("Current event: 42"), std::string::npos);
  EXPECT_NE(out.find("replay: cannot write registers outside a diversion"), std::string::npos);
  EXPECT_NE(out.find("rip            0x401001"), std::string::npos);
  EXPECT_NE(out.find("No more reverse-execution history."), std::string::npos);
  EXPECT_NE(out.find("hit Breakpoint 1"), std::string::npos);
  EXPECT_NE(out.find("rip            0x401008"), std::string::npos);
  EXPECT_EQ(out.find("does not support this command"), std::string::npos);
}

TEST(RealGdb, SessionOverStdio) {
  if (!have_gdb()) GTEST_SKIP() << "gdb is not installed";
  char self[4096];
  ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
  ASSERT_GT(len, 0);
  self[len] = '\0';
  int status = 0;
  std::string out = run_gdb({"target extended-remote | " + std::string(self),
                             "info registers rip", "reverse-stepi", "info registers rip",
                             "monitor when", "kill"},
                            &status);
  SCOPED_TRACE(out);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  EXPECT_NE(out.find("rip            0x401002"), std::string::npos);
  EXPECT_NE(out.find("rip            0x401001"), std::string::npos);
  EXPECT_NE(out.find("Current event: 42"), std::string::npos);
}

}  // namespace
}  // namespace rrx
