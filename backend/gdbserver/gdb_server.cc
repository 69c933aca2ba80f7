#include "gdbserver/gdb_server.h"

#include <signal.h>

#include <algorithm>
#include <set>
#include <utility>

#include "gdbserver/agent_expression.h"
#include "gdbserver/amd64_registers.h"

namespace rrx {
namespace {

using rsp::hex_number;
using rsp::parse_hex_number;
using rsp::to_hex;

constexpr size_t kPacketSize = 0x20000;
// `monitor` output is sent in O packets of at most this many bytes.
constexpr size_t kConsoleChunk = 1024;

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

std::string hex2(unsigned value) {
  std::string s = hex_number(value & 0xff);
  return s.size() == 1 ? "0" + s : s;
}

// "NN;NN;..." (hex) into *numbers; false if malformed.
bool parse_hex_list(std::string_view text, std::set<int>* numbers) {
  std::set<int> parsed;
  while (!text.empty()) {
    size_t end = text.find(';');
    auto n = parse_hex_number(text.substr(0, end));
    if (!n || *n > 0xffff) return false;
    parsed.insert(static_cast<int>(*n));
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
  }
  *numbers = std::move(parsed);
  return true;
}

// Splits "a,b" (or "a,b:rest" when `rest` is given) into two hex numbers.
bool parse_address_length(std::string_view text, uint64_t* address, uint64_t* length,
                          std::string_view* rest = nullptr) {
  size_t comma = text.find(',');
  if (comma == std::string_view::npos) return false;
  std::string_view len_text = text.substr(comma + 1);
  if (rest) {
    size_t colon = len_text.find(':');
    if (colon == std::string_view::npos) return false;
    *rest = len_text.substr(colon + 1);
    len_text = len_text.substr(0, colon);
  }
  auto a = parse_hex_number(text.substr(0, comma));
  auto l = parse_hex_number(len_text);
  if (!a || !l) return false;
  *address = *a;
  *length = *l;
  return true;
}

// The reply to qXfer reads: a window of `document`, 'l' if it is the last.
std::string xfer_window(std::string_view document, uint64_t offset, uint64_t length) {
  if (offset >= document.size()) return "l";
  std::string_view window = document.substr(offset, std::min<uint64_t>(length, kPacketSize / 2));
  char marker = offset + window.size() >= document.size() ? 'l' : 'm';
  return marker + rsp::escape_binary(window);
}

std::optional<BreakpointKind> breakpoint_kind(char type) {
  switch (type) {
    case '0': return BreakpointKind::kSoftware;
    case '1': return BreakpointKind::kHardware;
    case '2': return BreakpointKind::kWriteWatch;
    case '3': return BreakpointKind::kReadWatch;
    case '4': return BreakpointKind::kAccessWatch;
    default: return std::nullopt;
  }
}

// `xml` without the first ` name="..."` attribute.
std::string without_attribute(std::string xml, std::string_view name) {
  size_t pos = xml.find(" " + std::string(name) + "=\"");
  if (pos == std::string::npos) return xml;
  size_t end = xml.find('"', pos + name.size() + 3);
  if (end == std::string::npos) return xml;
  xml.erase(pos, end + 1 - pos);
  return xml;
}

}  // namespace

GdbServer::GdbServer(DebugTarget* target) : target_(target), decoder_(kPacketSize) {}

std::string GdbServer::feed(std::string_view bytes) {
  decoder_.feed(bytes);
  while (!finished_) {
    auto unit = decoder_.next();
    if (!unit) break;
    switch (unit->kind) {
      case rsp::Incoming::Kind::kPacket:
        if (ack_mode_) output_ += '+';
        handle_packet(unit->payload);
        break;
      case rsp::Incoming::Kind::kBadPacket:
        if (ack_mode_) output_ += '-';
        break;
      case rsp::Incoming::Kind::kTooLong:
        // Resending would not help: refuse it.
        if (ack_mode_) output_ += '+';
        send_error("packet longer than PacketSize " + hex_number(kPacketSize));
        break;
      case rsp::Incoming::Kind::kNack:
        if (ack_mode_) output_ += last_packet_;
        break;
      case rsp::Incoming::Kind::kAck:
        break;
      case rsp::Incoming::Kind::kInterrupt:
        // Nothing runs now: the stop reply already crossed this Ctrl-C.
        break;
    }
  }
  return std::exchange(output_, {});
}

void GdbServer::send(std::string_view payload) {
  last_packet_ = rsp::frame(payload);
  output_ += last_packet_;
}

void GdbServer::send_error(const std::string& message) {
  if (error_strings_) {
    send("E01;" + to_hex(message));
  } else if (!lldb_ && !message.empty()) {
    // gdb shows the text of "E.message" replies; keep it packet-safe.
    std::string text = message;
    std::replace_if(text.begin(), text.end(),
                    [](char c) { return c == '$' || c == '#' || c == '}' || c == '*'; }, '_');
    send("E." + text);
  } else {
    send("E01");
  }
}

void GdbServer::handle_packet(const std::string& payload) {
  if (payload.empty()) return send("");
  std::string_view args = std::string_view(payload).substr(1);
  switch (payload[0]) {
    case '?':
      if (!last_stop_) {
        // lldb takes a SIGTRAP at a place where it puts a breakpoint (its
        // entry breakpoint at the ELF entry of a static program) for a hit
        // of it and resumes at once. SIGSTOP is what it sees on attach.
        last_stop_ = StopReason{.thread = target_->current_thread(),
                                .signal = lldb_ ? SIGSTOP : SIGTRAP};
      }
      return send(stop_reply(*last_stop_));
    case '!':
      extended_ = true;
      return send("OK");
    case 'q':
    case 'Q':
    case 'j': return handle_query(payload);
    case 'H': return handle_set_thread(args);
    case 'T': {
      std::optional<ThreadId> thread;
      if (!parse_thread_id(args, &thread) || !thread) return send("E01");
      auto threads = target_->threads();
      bool alive = std::find(threads.begin(), threads.end(), *thread) != threads.end();
      return send(alive ? "OK" : "E01");
    }
    case 'g': return handle_read_registers(args);
    case 'G': return handle_write_registers(args);
    case 'p': return handle_read_register(args);
    case 'P': return handle_write_register(args);
    case 'm': return handle_read_memory(args, false);
    case 'x': return handle_read_memory(args, true);
    case 'M': return handle_write_memory(args, false);
    case 'X': return handle_write_memory(args, true);
    case 'Z': return handle_breakpoint(args, true);
    case 'z': return handle_breakpoint(args, false);
    case 'c':
    case 's':
    case 'C':
    case 'S': {
      ResumeRequest request;
      bool step = payload[0] == 's' || payload[0] == 'S';
      request.action = step ? ResumeRequest::Action::kStep : ResumeRequest::Action::kContinue;
      request.direction = direction_;
      request.thread = continue_thread_;
      if (payload[0] == 'C' || payload[0] == 'S') {
        // "Csig[;addr]": resuming at another address is not supported.
        auto sig = parse_hex_number(args.substr(0, args.find(';')));
        if (!sig) return send("E01");
        request.signal = static_cast<int>(*sig);
      }
      return resume(std::move(request));
    }
    case 'b':
      if (payload == "bc" || payload == "bs") {
        ResumeRequest request;
        request.action = payload == "bs" ? ResumeRequest::Action::kStep
                                         : ResumeRequest::Action::kContinue;
        request.direction = Direction::kReverse;
        request.thread = reverse_thread(payload == "bs");
        return resume(std::move(request));
      }
      return send("");
    case 'v':
      if (payload == "vCont?") return send("vCont;c;C;s;S");
      if (starts_with(payload, "vCont;")) return handle_vcont(args.substr(4));  // ";action..."
      if (starts_with(payload, "vKill")) {
        // On an extended-remote target gdb kills before `run`: the replay
        // stays, ready for vRun.
        send("OK");
        if (!extended_) finished_ = true;
        return;
      }
      if (starts_with(payload, "vRun;")) return handle_run(args.substr(4));  // "PROGRAM;ARG..."
      return send("");  // vMustReplyEmpty and everything unsupported
    case 'D':
      send("OK");
      finished_ = true;
      return;
    case 'k':
      // gdb expects no reply to k; lldb waits for the exit stop reply (as
      // lldb-server sends) and otherwise crashes now and then on the
      // closed connection.
      if (lldb_) {
        std::string reply = "X09";
        if (multiprocess_) reply += ";process:" + hex_number(target_->current_thread().pid);
        send(reply);
      }
      finished_ = true;
      return;
    default: return send("");
  }
}

void GdbServer::handle_query(const std::string& payload) {
  std::string_view p = payload;
  if (starts_with(p, "qSupported")) {
    return handle_qsupported(p.size() > 11 ? p.substr(11) : std::string_view());
  }
  if (p == "QStartNoAckMode") {
    send("OK");  // acknowledged in ack mode, then acks stop
    ack_mode_ = false;
    return;
  }
  if (starts_with(p, "qXfer:")) return handle_xfer(p.substr(6));
  if (starts_with(p, "qRcmd,")) return handle_monitor(p.substr(6));
  if (p == "qfThreadInfo") {
    std::string reply = "m";
    for (const ThreadId& t : target_->threads()) {
      if (reply.size() > 1) reply += ',';
      reply += thread_id(t);
    }
    return send(reply);
  }
  if (p == "qsThreadInfo") return send("l");
  if (p == "qC") return send("QC" + thread_id(target_->current_thread()));
  if (starts_with(p, "qAttached")) return send("1");
  if (starts_with(p, "qSymbol")) return send("OK");
  if (p == "QThreadSuffixSupported" || p == "QListThreadsInStopReply") {
    if (p == "QListThreadsInStopReply") threads_in_stop_ = true;
    return send("OK");
  }
  if (p == "QEnableErrorStrings") {
    error_strings_ = true;
    return send("OK");
  }
  if (p == "QRRXDirection:reverse" || p == "QRRXDirection:forward") {
    direction_ = p.ends_with("reverse") ? Direction::kReverse : Direction::kForward;
    return send("OK");
  }
  if (starts_with(p, "QPassSignals:")) {
    return send(parse_hex_list(p.substr(13), &pass_signals_) ? "OK" : "E01");
  }
  if (starts_with(p, "QCatchSyscalls:")) return handle_catch_syscalls(p.substr(15));
  if (p == "qHostInfo" || p == "qProcessInfo") {
    std::string reply;
    if (p == "qProcessInfo") reply = "pid:" + hex_number(target_->current_thread().pid) + ";";
    reply += "triple:" + to_hex("x86_64-pc-linux-gnu") + ";ptrsize:8;endian:little;ostype:linux;";
    return send(reply);
  }
  if (starts_with(p, "qMemoryRegionInfo:")) return handle_memory_region(p.substr(18));
  if (starts_with(p, "qThreadStopInfo")) {
    auto tid = parse_hex_number(p.substr(15));
    if (!tid) return send("E01");
    if (last_stop_ && last_stop_->thread.tid == static_cast<pid_t>(*tid)) {
      return send(stop_reply(*last_stop_));
    }
    for (const ThreadId& t : target_->threads()) {
      if (t.tid == static_cast<pid_t>(*tid)) return send(stop_reply({.thread = t, .signal = 0}));
    }
    return send("E01");
  }
  send("");  // qTStatus, qOffsets, jThreadsInfo, ...: unsupported
}

void GdbServer::handle_qsupported(std::string_view features) {
  auto has = [&](std::string_view f) {
    size_t pos = 0;
    while (pos <= features.size()) {
      size_t end = features.find(';', pos);
      if (end == std::string_view::npos) end = features.size();
      if (features.substr(pos, end - pos) == f) return true;
      pos = end + 1;
    }
    return false;
  };
  multiprocess_ = has("multiprocess+");
  client_swbreak_ = has("swbreak+");
  client_hwbreak_ = has("hwbreak+");
  // lldb announces its register XML support and not swbreak (DESIGN.md).
  lldb_ = features.find("xmlRegisters=") != std::string_view::npos && !client_swbreak_;
  std::string reply = "PacketSize=" + hex_number(kPacketSize) +
                      ";QStartNoAckMode+;qXfer:features:read+;qXfer:auxv:read+"
                      ";qXfer:exec-file:read+;qXfer:libraries-svr4:read+"
                      ";qXfer:siginfo:read+;ReverseContinue+;ReverseStep+"
                      ";swbreak+;hwbreak+;vContSupported+;QPassSignals+;QCatchSyscalls+"
                      ";ConditionalBreakpoints+";
  if (multiprocess_) reply += ";multiprocess+";
  send(reply);
}

// "PROGRAM[;ARG...]" of vRun, hex-encoded: the program is the replay's; an
// argument N goes to event N, as rr's `run N`.
void GdbServer::handle_run(std::string_view args) {
  uint64_t event = 0;
  size_t semicolon = args.find(';');
  if (semicolon != std::string_view::npos) {
    std::string_view arg = args.substr(semicolon + 1);
    auto bytes = rsp::from_hex(arg.substr(0, arg.find(';')));
    std::string text = bytes ? std::string(bytes->begin(), bytes->end()) : "";
    if (!text.empty()) {
      char* end = nullptr;
      event = strtoull(text.c_str(), &end, 10);
      if (*end != '\0') return send_error("rrx: run takes an event number, not '" + text + "'");
    }
  }
  std::string error;
  if (!target_->restart(event, &error)) return send_error(error);
  last_stop_ = StopReason{.thread = target_->current_thread()};
  last_stop_was_step_ = false;
  general_thread_.reset();
  send(stop_reply(*last_stop_));
}

// "0" (catch none), "1" (every syscall) or "1;NN;NN..." (these, in hex).
void GdbServer::handle_catch_syscalls(std::string_view args) {
  std::set<int> syscalls;
  if (args == "0") {
    catch_syscalls_ = false;
  } else if (args == "1" || (starts_with(args, "1;") && parse_hex_list(args.substr(2), &syscalls))) {
    catch_syscalls_ = true;
  } else {
    return send("E01");
  }
  caught_syscalls_ = std::move(syscalls);
  send("OK");
}

void GdbServer::handle_xfer(std::string_view request) {
  // object:read:annex:offset,length
  size_t c1 = request.find(':');
  if (c1 == std::string_view::npos) return send("E01");
  std::string_view object = request.substr(0, c1);
  std::string_view rest = request.substr(c1 + 1);
  if (!starts_with(rest, "read:")) return send("");
  rest = rest.substr(5);
  size_t c2 = rest.rfind(':');
  if (c2 == std::string_view::npos) return send("E01");
  std::string_view annex = rest.substr(0, c2);
  uint64_t offset, length;
  if (!parse_address_length(rest.substr(c2 + 1), &offset, &length)) return send("E01");

  std::string document;
  if (object == "features") {
    auto xml = amd64::target_description(annex);
    if (!xml) return send("E00");
    document = *xml;
  } else if (object == "auxv") {
    auto auxv = target_->auxv();
    document.assign(auxv.begin(), auxv.end());
  } else if (object == "exec-file") {
    document = target_->exec_file();
  } else if (object == "libraries-svr4") {
    document = target_->libraries_svr4_xml();
    // lldb takes main-lm for the address of a pointer to r_debug (what
    // qShlibInfoAddr answers) and reads garbage through it. Without it
    // lldb finds r_debug through the executable's DT_DEBUG, as it should.
    if (lldb_) document = without_attribute(document, "main-lm");
  } else if (object == "siginfo") {
    ThreadId thread = general_thread_.value_or(target_->current_thread());
    auto info = target_->siginfo(thread);
    document.assign(info.begin(), info.end());
  } else {
    return send("");
  }
  if (document.empty() && object != "features") return send("E01");
  send(xfer_window(document, offset, length));
}

void GdbServer::handle_monitor(std::string_view hex_command) {
  auto bytes = rsp::from_hex(hex_command);
  if (!bytes) return send("E01");
  std::string output;
  bool ok = target_->monitor(std::string(bytes->begin(), bytes->end()), &output);
  for (size_t pos = 0; pos < output.size(); pos += kConsoleChunk) {
    send("O" + to_hex(std::string_view(output).substr(pos, kConsoleChunk)));
  }
  send(ok ? "OK" : "E01");
}

void GdbServer::handle_memory_region(std::string_view address) {
  auto addr = parse_hex_number(address);
  MemoryRegion region;
  if (!addr || !target_->memory_region(*addr, &region)) return send("E01");
  std::string reply =
      "start:" + hex_number(region.start) + ";size:" + hex_number(region.size) + ";";
  if (region.mapped) {
    reply += "permissions:";
    if (region.readable) reply += 'r';
    if (region.writable) reply += 'w';
    if (region.executable) reply += 'x';
    reply += ';';
    if (!region.name.empty()) reply += "name:" + to_hex(region.name) + ";";
  }
  send(reply);
}

void GdbServer::handle_set_thread(std::string_view payload) {
  if (payload.empty()) return send("E01");
  std::optional<ThreadId> thread;
  if (!parse_thread_id(payload.substr(1), &thread)) return send("E01");
  if (payload[0] == 'g') {
    general_thread_ = thread;
  } else if (payload[0] == 'c') {
    continue_thread_ = thread;
  } else {
    return send("E01");
  }
  send("OK");
}

ThreadId GdbServer::register_thread(std::string_view* args) {
  size_t suffix = args->find(";thread:");
  if (suffix != std::string_view::npos) {
    std::string_view text = args->substr(suffix + 8);
    *args = args->substr(0, suffix);
    std::optional<ThreadId> thread;
    if (!text.empty() && text.back() == ';') text.remove_suffix(1);
    if (parse_thread_id(text, &thread) && thread) return *thread;
  }
  return general_thread_.value_or(target_->current_thread());
}

void GdbServer::handle_read_registers(std::string_view args) {
  RegisterFile regs;
  if (!target_->read_registers(register_thread(&args), &regs)) return send("E01");
  auto bytes = amd64::all_registers(regs);
  send(to_hex(bytes.data(), bytes.size()));
}

// lldb evaluates expressions by calling mmap in the program (register
// writes) and counts on what it allocated staying; a replay's diversion
// ends at the next run of the replay, so lldb is refused register writes
// and interprets expressions itself instead, as it does on a refusal.
bool GdbServer::refuse_lldb_register_write() {
  if (!lldb_) return false;
  send_error("rrx: lldb cannot write registers of a replay (expressions are interpreted)");
  return true;
}

void GdbServer::handle_write_registers(std::string_view args) {
  if (refuse_lldb_register_write()) return;
  ThreadId thread = register_thread(&args);
  auto bytes = rsp::from_hex(args);
  RegisterFile regs;
  if (!bytes || !target_->read_registers(thread, &regs)) return send("E01");
  // A short G packet sets only the leading registers.
  size_t pos = 0;
  for (int regno = 0; regno < amd64::register_count(); ++regno) {
    size_t size = amd64::register_size(regno);
    if (pos + size > bytes->size()) break;
    amd64::set_register(&regs, regno, bytes->data() + pos);
    pos += size;
  }
  std::string error;
  if (!target_->write_registers(thread, regs, &error)) return send_error(error);
  send("OK");
}

void GdbServer::handle_read_register(std::string_view args) {
  ThreadId thread = register_thread(&args);
  auto regno = parse_hex_number(args);
  RegisterFile regs;
  std::vector<uint8_t> bytes;
  if (!regno || !target_->read_registers(thread, &regs) ||
      !amd64::get_register(regs, static_cast<int>(*regno), &bytes)) {
    return send("E01");
  }
  send(to_hex(bytes.data(), bytes.size()));
}

void GdbServer::handle_write_register(std::string_view args) {
  if (refuse_lldb_register_write()) return;
  ThreadId thread = register_thread(&args);
  size_t eq = args.find('=');
  if (eq == std::string_view::npos) return send("E01");
  auto regno = parse_hex_number(args.substr(0, eq));
  auto bytes = rsp::from_hex(args.substr(eq + 1));
  RegisterFile regs;
  if (!regno || !bytes || bytes->size() != amd64::register_size(static_cast<int>(*regno)) ||
      !target_->read_registers(thread, &regs)) {
    return send("E01");
  }
  amd64::set_register(&regs, static_cast<int>(*regno), bytes->data());
  std::string error;
  if (!target_->write_registers(thread, regs, &error)) return send_error(error);
  send("OK");
}

void GdbServer::handle_read_memory(std::string_view args, bool binary) {
  uint64_t address, length;
  if (!parse_address_length(args, &address, &length)) return send("E01");
  length = std::min<uint64_t>(length, kPacketSize / 2);
  // lldb probes x support with "x0,0" and wants OK.
  if (binary && length == 0) return send(lldb_ ? "OK" : "b");
  auto data = target_->read_memory(address, length);
  if (data.empty()) return send("E01");
  std::string_view raw(reinterpret_cast<const char*>(data.data()), data.size());
  if (!binary) return send(to_hex(raw));
  // lldb-19 takes raw escaped bytes; gdb 16's binary-upload prefixes 'b'.
  send((lldb_ ? "" : "b") + rsp::escape_binary(raw));
}

void GdbServer::handle_write_memory(std::string_view args, bool binary) {
  uint64_t address, length;
  std::string_view data_text;
  if (!parse_address_length(args, &address, &length, &data_text)) return send("E01");
  std::vector<uint8_t> data;
  if (binary) {
    std::string raw = rsp::unescape_binary(data_text);
    data.assign(raw.begin(), raw.end());
  } else {
    auto bytes = rsp::from_hex(data_text);
    if (!bytes) return send("E01");
    data = std::move(*bytes);
  }
  if (data.size() != length) return send("E01");
  // gdb probes X support with an empty write.
  if (length == 0) return send("OK");
  std::string error;
  if (!target_->write_memory(address, data, &error)) return send_error(error);
  send("OK");
}

void GdbServer::handle_breakpoint(std::string_view args, bool insert) {
  // type,addr,kind[;cond...]
  if (args.size() < 2 || args[1] != ',') return send("E01");
  auto kind = breakpoint_kind(args[0]);
  if (!kind) return send("");
  std::string_view location = args.substr(2);
  size_t semicolon = location.find(';');
  std::string_view extras = semicolon == std::string_view::npos ? "" : location.substr(semicolon + 1);
  location = location.substr(0, semicolon);
  uint64_t address, length;
  if (!parse_address_length(location, &address, &length)) return send("E01");
  // ";X len,bytecode" conditions (ConditionalBreakpoints), one per location.
  std::vector<AgentExpression> conditions;
  while (insert && !extras.empty()) {
    size_t end = extras.find(';');
    auto condition = AgentExpression::parse(extras.substr(0, end));
    if (!condition) return send("E01");
    conditions.push_back(std::move(*condition));
    extras = end == std::string_view::npos ? "" : extras.substr(end + 1);
  }
  bool code = *kind == BreakpointKind::kSoftware || *kind == BreakpointKind::kHardware;
  if (!conditions.empty() && !code) return send("E01");
  bool ok = insert ? target_->insert_breakpoint(*kind, address, length)
                   : target_->remove_breakpoint(*kind, address, length);
  // gdb sends the whole list again whenever it changes, none included.
  if (ok && insert && code && !target_->set_breakpoint_conditions(address, conditions)) {
    ok = conditions.empty();
  }
  send(ok ? "OK" : "E01");
}

void GdbServer::handle_vcont(std::string_view actions) {
  // ";action[:thread]" repeated. A replay runs one thread at a time, so a
  // step of any thread wins over continues; a continue of a single named
  // thread (scheduler-locking) stays on that thread.
  ResumeRequest request;
  request.direction = direction_;
  bool have_action = false;
  while (!actions.empty()) {
    actions.remove_prefix(1);  // ';'
    size_t end = actions.find(';');
    std::string_view action = actions.substr(0, end);
    actions = end == std::string_view::npos ? std::string_view() : actions.substr(end);

    std::optional<ThreadId> thread;
    size_t colon = action.find(':');
    if (colon != std::string_view::npos &&
        !parse_thread_id(action.substr(colon + 1), &thread)) {
      return send("E01");
    }
    std::string_view verb = action.substr(0, colon);
    if (verb.empty()) return send("E01");
    bool step = verb[0] == 's' || verb[0] == 'S';
    if (!step && verb[0] != 'c' && verb[0] != 'C') return send("");
    if (have_action && (request.action == ResumeRequest::Action::kStep || !step)) continue;
    request.action = step ? ResumeRequest::Action::kStep : ResumeRequest::Action::kContinue;
    request.thread = thread;
    request.signal = 0;
    if (verb.size() > 1) {
      auto sig = parse_hex_number(verb.substr(1));
      if (!sig) return send("E01");
      request.signal = static_cast<int>(*sig);
    }
    have_action = true;
  }
  if (!have_action) return send("E01");
  resume(std::move(request));
}

bool GdbServer::interrupted() {
  if (input_poll_ && !finished_) {
    std::optional<std::string> bytes = input_poll_();
    if (bytes) decoder_.feed(*bytes);
    else finished_ = true;  // nobody is left to see the stop
  }
  return finished_ || decoder_.interrupt_pending();
}

// `bc`/`bs` name no thread: gdb sets Hc first. To reverse-step a thread
// the user selected (`thread N`, read through Hg) while another stopped at
// a breakpoint, gdb first steps that other one off it (Hc naming it), then
// steps "any thread" (Hc0) meaning the user's: that one is remembered
// across the first step.
std::optional<ThreadId> GdbServer::reverse_thread(bool step) {
  bool named = continue_thread_ && continue_thread_->tid > 0;
  std::optional<ThreadId> thread = continue_thread_;
  if (step && named && general_thread_ && general_thread_->tid > 0 &&
      general_thread_->tid != continue_thread_->tid) {
    selected_thread_ = general_thread_;  // the step-over comes first
  } else if (step && !named) {
    if (selected_thread_) thread = selected_thread_;
    else if (general_thread_ && general_thread_->tid > 0) thread = general_thread_;
    selected_thread_.reset();
  } else {
    selected_thread_.reset();
  }
  return thread;
}

void GdbServer::resume(ResumeRequest request) {
  request.interrupted = [this] { return interrupted(); };
  request.pass_signals = pass_signals_;
  request.catch_syscalls = catch_syscalls_;
  request.syscalls = caught_syscalls_;
  // Console output while running: gdb prints O packets that come before
  // the stop reply. (In ack mode each would need its ack first.)
  if (immediate_output_ && !ack_mode_) {
    request.progress = [this](const std::string& line) {
      immediate_output_(rsp::frame("O" + to_hex(line)));
    };
  }
  if (request.direction != Direction::kReverse) selected_thread_.reset();
  last_stop_was_step_ = request.action == ResumeRequest::Action::kStep;
  last_stop_ = target_->resume(request);
  general_thread_.reset();  // after a stop, registers mean the stopped thread
  send(stop_reply(*last_stop_));
}

std::string GdbServer::thread_id(const ThreadId& thread) const {
  if (multiprocess_) return "p" + hex_number(thread.pid) + "." + hex_number(thread.tid);
  return hex_number(thread.tid);
}

bool GdbServer::parse_thread_id(std::string_view text, std::optional<ThreadId>* thread) {
  std::optional<pid_t> pid;
  if (starts_with(text, "p")) {
    size_t dot = text.find('.');
    std::string_view pid_text = text.substr(1, dot == std::string_view::npos ? dot : dot - 1);
    if (pid_text == "-1") {
      *thread = std::nullopt;
      return true;
    }
    auto value = parse_hex_number(pid_text);
    if (!value) return false;
    pid = static_cast<pid_t>(*value);
    text = dot == std::string_view::npos ? std::string_view("-1") : text.substr(dot + 1);
  }
  if (text == "-1" || text == "0") {
    *thread = std::nullopt;
    return true;
  }
  auto tid = parse_hex_number(text);
  if (!tid) return false;
  ThreadId id{pid.value_or(0), static_cast<pid_t>(*tid)};
  if (!pid) {
    // A bare tid: find its process.
    id.pid = target_->current_thread().pid;
    for (const ThreadId& t : target_->threads()) {
      if (t.tid == id.tid) id.pid = t.pid;
    }
  }
  *thread = id;
  return true;
}

std::string GdbServer::stop_reply(const StopReason& stop) {
  if (stop.kind == StopReason::Kind::kExited) {
    std::string reply = "W" + hex2(stop.exit_code);
    if (multiprocess_) reply += ";process:" + hex_number(stop.thread.pid);
    return reply;
  }
  int signal = stop.kind == StopReason::Kind::kSignal ? stop.signal : SIGTRAP;
  std::string reply = "T" + hex2(signal) + "thread:" + thread_id(stop.thread) + ";";

  RegisterFile regs;
  if (target_->read_registers(stop.thread, &regs)) {
    std::vector<uint8_t> bytes;
    for (int regno : {amd64::kRbp, amd64::kRsp, amd64::kRip}) {
      amd64::get_register(regs, regno, &bytes);
      reply += hex2(regno) + ":" + to_hex(bytes.data(), bytes.size()) + ";";
    }
  }
  if (threads_in_stop_) {
    reply += "threads:";
    for (const ThreadId& t : target_->threads()) {
      if (reply.back() != ':') reply += ',';
      reply += hex_number(t.tid);
    }
    reply += ";";
  }

  // lldb reads a SIGTRAP with no reason at a breakpoint's address as a hit
  // of it, also after a single step that only arrived there.
  bool step_done = lldb_ && last_stop_was_step_ && &stop == &*last_stop_ &&
                   (stop.kind == StopReason::Kind::kBreakpoint ||
                    (stop.kind == StopReason::Kind::kSignal && stop.signal == SIGTRAP));
  if (step_done) return reply + "reason:trace;";

  switch (stop.kind) {
    case StopReason::Kind::kBreakpoint:
      if (stop.breakpoint == BreakpointKind::kHardware) {
        if (client_hwbreak_) reply += "hwbreak:;";
      } else if (client_swbreak_) {
        reply += "swbreak:;";
      }
      if (lldb_) reply += "reason:breakpoint;";
      break;
    case StopReason::Kind::kWatchpoint: {
      const char* key = stop.breakpoint == BreakpointKind::kReadWatch     ? "rwatch"
                        : stop.breakpoint == BreakpointKind::kAccessWatch ? "awatch"
                                                                          : "watch";
      reply += std::string(key) + ":" + hex_number(stop.address) + ";";
      break;
    }
    case StopReason::Kind::kSyscallEntry:
    case StopReason::Kind::kSyscallExit: {
      bool entry = stop.kind == StopReason::Kind::kSyscallEntry;
      reply += std::string(entry ? "syscall_entry:" : "syscall_return:") + hex_number(stop.syscall) + ";";
      break;
    }
    case StopReason::Kind::kHistoryStart:
    case StopReason::Kind::kHistoryEnd: {
      bool start = stop.kind == StopReason::Kind::kHistoryStart;
      // gdb prints "No more reverse-execution history"; lldb-19 ignores
      // replaylog and needs an exception stop to stop at all.
      if (lldb_) {
        reply += "reason:exception;description:" +
                 to_hex(start ? "start of recorded history" : "end of recorded history") + ";";
      } else {
        reply += start ? "replaylog:begin;" : "replaylog:end;";
      }
      break;
    }
    default: break;
  }
  return reply;
}

}  // namespace rrx
