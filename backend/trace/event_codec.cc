#include "trace/event_codec.h"

#include <cstring>

namespace rrx {
namespace {

capnp::Data::Reader as_data(const std::string& s) {
  return {reinterpret_cast<const kj::byte*>(s.data()), s.size()};
}

std::string to_string(capnp::Data::Reader d) {
  return {reinterpret_cast<const char*>(d.begin()), d.size()};
}

void encode_writes(const std::vector<MemWrite>& writes,
                   capnp::List<proto::MemWrite>::Builder out) {
  for (size_t i = 0; i < writes.size(); ++i) {
    out[i].setAddr(writes[i].addr);
    out[i].setData(as_data(writes[i].data));
  }
}

std::vector<MemWrite> decode_writes(capnp::List<proto::MemWrite>::Reader in) {
  std::vector<MemWrite> writes;
  writes.reserve(in.size());
  for (auto w : in) writes.push_back({w.getAddr(), to_string(w.getData())});
  return writes;
}

template <typename T>
void encode_u64s(const std::vector<T>& values,
                 capnp::List<uint64_t>::Builder out) {
  for (size_t i = 0; i < values.size(); ++i) out.set(i, values[i]);
}

std::vector<uint64_t> decode_u64s(capnp::List<uint64_t>::Reader in) {
  std::vector<uint64_t> values;
  values.reserve(in.size());
  for (uint64_t v : in) values.push_back(v);
  return values;
}

}  // namespace

void encode_event(const Event& e, proto::Event::Builder out) {
  out.setSeq(e.seq);
  out.setTicksAtEvent(e.ticks_at_event);
  out.setMicros(e.micros);
  out.setTid(e.tid);
  out.setRegs({reinterpret_cast<const kj::byte*>(&e.regs), sizeof e.regs});
  switch (e.kind) {
    case EventKind::kSyscallEntry:
      out.initSyscallEntry().setSyscallNo(e.syscall_no);
      break;
    case EventKind::kSyscallExit: {
      auto x = out.initSyscallExit();
      x.setSyscallNo(e.syscall_no);
      encode_writes(e.writes, x.initWrites(e.writes.size()));
      x.setEchoFd(e.echo_fd);
      x.setEchoData(as_data(e.echo_data));
      x.setEchoCrc(e.echo_crc);
      x.setShmSize(e.shm_size);
      x.setNewBuffer(e.new_buffer);
      if (e.shrunk_file.addr) {
        x.initShrunkFile().setAddr(e.shrunk_file.addr);
        x.getShrunkFile().setLen(e.shrunk_file.len);
      }
      if (e.has_mapped_file) {
        auto m = x.initMappedFile();
        m.setSavedName(e.mapped_file.saved_name);
        m.setOffset(e.mapped_file.offset);
      }
      break;
    }
    case EventKind::kSignal: {
      auto s = out.initSignal();
      s.setSigno(e.signo);
      s.setSiginfo(as_data(e.siginfo));
      s.setDeterministic(e.deterministic);
      s.setTicks(e.ticks);
      s.setTracer(static_cast<proto::Event::SignalTracer>(e.tracer));
      break;
    }
    case EventKind::kExec: {
      auto x = out.initExec();
      x.setExeSavedName(e.exe_saved_name);
      x.setLeaderTid(e.leader_tid);
      encode_writes(e.writes, x.initWrites(e.writes.size()));
      break;
    }
    case EventKind::kNewTask: {
      auto t = out.initNewTask();
      t.setNewTid(e.new_tid);
      t.setCloneFlags(e.clone_flags);
      break;
    }
    case EventKind::kInstruction: {
      auto i = out.initInstruction();
      auto values = i.initValues(4);
      for (unsigned k = 0; k < 4; ++k) values.set(k, e.values[k]);
      i.setInsnLen(e.insn_len);
      break;
    }
    case EventKind::kExit:
      out.initExit().setExitStatus(e.exit_status);
      break;
    case EventKind::kSchedule:
      out.initSchedule().setTicks(e.ticks);
      out.getSchedule().setStackHash(e.stack_hash);
      break;
    case EventKind::kBufferFlush:
      encode_writes(e.writes, out.initBufferFlush().initWrites(e.writes.size()));
      break;
    case EventKind::kInstrument: {
      auto i = out.initInstrument();
      i.initCode().setAddr(e.patch_code.addr);
      i.getCode().setLen(e.patch_code.len);
      i.initStubs().setAddr(e.patch_stubs.addr);
      i.getStubs().setLen(e.patch_stubs.len);
      i.setPatchSavedName(e.patch_saved_name);
      break;
    }
    case EventKind::kTracerChange:
      encode_writes(e.writes, out.initTracerChange().initWrites(e.writes.size()));
      break;
  }
}

bool decode_event(proto::Event::Reader in, Event* e, std::string* error) {
  *e = Event();
  e->seq = in.getSeq();
  e->ticks_at_event = in.getTicksAtEvent();
  e->micros = in.getMicros();
  e->tid = in.getTid();
  auto regs = in.getRegs();
  if (regs.size() != sizeof e->regs) {
    *error = "event " + std::to_string(e->seq) + " has " +
             std::to_string(regs.size()) + " bytes of registers, expected " +
             std::to_string(sizeof e->regs);
    return false;
  }
  std::memcpy(&e->regs, regs.begin(), sizeof e->regs);

  switch (in.which()) {
    case proto::Event::SYSCALL_ENTRY:
      e->kind = EventKind::kSyscallEntry;
      e->syscall_no = in.getSyscallEntry().getSyscallNo();
      return true;
    case proto::Event::SYSCALL_EXIT: {
      auto x = in.getSyscallExit();
      e->kind = EventKind::kSyscallExit;
      e->syscall_no = x.getSyscallNo();
      e->writes = decode_writes(x.getWrites());
      e->echo_fd = x.getEchoFd();
      e->echo_data = to_string(x.getEchoData());
      e->echo_crc = x.getEchoCrc();
      e->shm_size = x.getShmSize();
      e->new_buffer = x.getNewBuffer();
      if (x.hasShrunkFile()) e->shrunk_file = {x.getShrunkFile().getAddr(), x.getShrunkFile().getLen()};
      e->has_mapped_file = x.hasMappedFile();
      if (e->has_mapped_file) {
        auto m = x.getMappedFile();
        e->mapped_file.saved_name = m.getSavedName();
        e->mapped_file.offset = m.getOffset();
      }
      return true;
    }
    case proto::Event::SIGNAL: {
      auto s = in.getSignal();
      e->kind = EventKind::kSignal;
      e->signo = s.getSigno();
      e->siginfo = to_string(s.getSiginfo());
      e->deterministic = s.getDeterministic();
      e->ticks = s.getTicks();
      if (static_cast<unsigned>(s.getTracer()) > static_cast<unsigned>(SignalTracer::kInjected)) {
        *error = "signal event " + std::to_string(e->seq) + " has an unknown tracer role";
        return false;
      }
      e->tracer = static_cast<SignalTracer>(s.getTracer());
      return true;
    }
    case proto::Event::EXEC: {
      auto x = in.getExec();
      e->kind = EventKind::kExec;
      e->exe_saved_name = x.getExeSavedName();
      e->leader_tid = x.getLeaderTid();
      e->writes = decode_writes(x.getWrites());
      return true;
    }
    case proto::Event::NEW_TASK: {
      auto t = in.getNewTask();
      e->kind = EventKind::kNewTask;
      e->new_tid = t.getNewTid();
      e->clone_flags = t.getCloneFlags();
      return true;
    }
    case proto::Event::INSTRUCTION: {
      auto i = in.getInstruction();
      auto values = i.getValues();
      if (values.size() != 4) {
        *error = "instruction event " + std::to_string(e->seq) + " has " +
                 std::to_string(values.size()) + " values, expected 4";
        return false;
      }
      e->kind = EventKind::kInstruction;
      for (unsigned k = 0; k < 4; ++k) e->values[k] = values[k];
      e->insn_len = i.getInsnLen();
      return true;
    }
    case proto::Event::EXIT:
      e->kind = EventKind::kExit;
      e->exit_status = in.getExit().getExitStatus();
      return true;
    case proto::Event::SCHEDULE:
      e->kind = EventKind::kSchedule;
      e->ticks = in.getSchedule().getTicks();
      e->stack_hash = in.getSchedule().getStackHash();
      return true;
    case proto::Event::BUFFER_FLUSH:
      e->kind = EventKind::kBufferFlush;
      e->writes = decode_writes(in.getBufferFlush().getWrites());
      return true;
    case proto::Event::INSTRUMENT: {
      e->kind = EventKind::kInstrument;
      auto i = in.getInstrument();
      e->patch_code = {i.getCode().getAddr(), i.getCode().getLen()};
      e->patch_stubs = {i.getStubs().getAddr(), i.getStubs().getLen()};
      e->patch_saved_name = i.getPatchSavedName();
      return true;
    }
    case proto::Event::TRACER_CHANGE:
      e->kind = EventKind::kTracerChange;
      e->writes = decode_writes(in.getTracerChange().getWrites());
      return true;
  }
  // A union member this rrx does not know: written by a newer schema.
  *error = "event " + std::to_string(e->seq) + " is of an unknown kind (" +
           std::to_string(static_cast<int>(in.which())) + ")";
  return false;
}

void encode_header(const TraceHeader& h, proto::TraceHeader::Builder out) {
  out.setVersion(h.version);
  auto argv = out.initArgv(h.argv.size());
  for (size_t i = 0; i < h.argv.size(); ++i) argv.set(i, as_data(h.argv[i]));
  out.setCwd(as_data(h.cwd));
  out.setExeSavedName(h.exe_saved_name);
  out.setTicks(h.ticks);
  out.setTickMicroarch(h.tick_microarch);
  out.setRootTid(h.root_tid);
  encode_u64s(h.rlimit_cur, out.initRlimitCur(h.rlimit_cur.size()));
  encode_u64s(h.rlimit_max, out.initRlimitMax(h.rlimit_max.size()));
  out.setCpuidFaulting(h.cpuid_faulting);
  out.setCpuSignature(h.cpu_signature);
  out.setBoundCpu(h.bound_cpu);
  out.setSyscallBuffer(h.syscall_buffer);
  out.setIgnoredSignals(h.ignored_signals);
}

bool decode_header(proto::TraceHeader::Reader in, TraceHeader* h,
                   std::string* error) {
  *h = TraceHeader();
  h->version = in.getVersion();
  if (h->version == 0 || h->version > kTraceVersion) {
    *error = "header has trace version " + std::to_string(h->version);
    return false;
  }
  for (auto arg : in.getArgv()) h->argv.push_back(to_string(arg));
  h->cwd = to_string(in.getCwd());
  h->exe_saved_name = in.getExeSavedName();
  h->ticks = in.getTicks();
  h->tick_microarch = in.getTickMicroarch();
  h->root_tid = in.getRootTid();
  h->rlimit_cur = decode_u64s(in.getRlimitCur());
  h->rlimit_max = decode_u64s(in.getRlimitMax());
  h->cpuid_faulting = in.getCpuidFaulting();
  h->cpu_signature = in.getCpuSignature();
  h->bound_cpu = in.getBoundCpu();
  h->syscall_buffer = in.getSyscallBuffer();
  h->ignored_signals = in.getIgnoredSignals();
  return true;
}

void encode_summary(const TraceSummary& s, proto::TraceSummary::Builder out) {
  out.setEventCount(s.event_count);
  out.setExitStatus(s.exit_status);
  out.setEndedBySignal(s.ended_by_signal);
  auto left = out.initLeftRunning(s.left_running.size());
  for (size_t i = 0; i < s.left_running.size(); ++i) left.set(i, s.left_running[i]);
}

TraceSummary decode_summary(proto::TraceSummary::Reader in) {
  TraceSummary s{in.getEventCount(), in.getExitStatus(), in.getEndedBySignal(), {}};
  for (int32_t pid : in.getLeftRunning()) s.left_running.push_back(pid);
  return s;
}

}  // namespace rrx
