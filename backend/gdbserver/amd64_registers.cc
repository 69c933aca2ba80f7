#include "gdbserver/amd64_registers.h"

#include <cstring>

namespace rrx::amd64 {
namespace {

enum Feature { kCore, kSse, kLinux, kSegments, kAvx, kFeatureCount };

struct FeatureInfo {
  const char* file;
  const char* name;
  const char* types;  // XML type definitions the feature's registers use
};

constexpr char kEflagsType[] = R"(  <flags id="i386_eflags" size="4">
    <field name="CF" start="0" end="0"/>
    <field name="PF" start="2" end="2"/>
    <field name="AF" start="4" end="4"/>
    <field name="ZF" start="6" end="6"/>
    <field name="SF" start="7" end="7"/>
    <field name="TF" start="8" end="8"/>
    <field name="IF" start="9" end="9"/>
    <field name="DF" start="10" end="10"/>
    <field name="OF" start="11" end="11"/>
    <field name="NT" start="14" end="14"/>
    <field name="RF" start="16" end="16"/>
    <field name="VM" start="17" end="17"/>
    <field name="AC" start="18" end="18"/>
    <field name="VIF" start="19" end="19"/>
    <field name="VIP" start="20" end="20"/>
    <field name="ID" start="21" end="21"/>
  </flags>
)";

constexpr char kSseTypes[] = R"(  <vector id="v4f" type="ieee_single" count="4"/>
  <vector id="v2d" type="ieee_double" count="2"/>
  <vector id="v16i8" type="int8" count="16"/>
  <vector id="v8i16" type="int16" count="8"/>
  <vector id="v4i32" type="int32" count="4"/>
  <vector id="v2i64" type="int64" count="2"/>
  <union id="vec128">
    <field name="v4_float" type="v4f"/>
    <field name="v2_double" type="v2d"/>
    <field name="v16_int8" type="v16i8"/>
    <field name="v8_int16" type="v8i16"/>
    <field name="v4_int32" type="v4i32"/>
    <field name="v2_int64" type="v2i64"/>
    <field name="uint128" type="uint128"/>
  </union>
  <flags id="i386_mxcsr" size="4">
    <field name="IE" start="0" end="0"/>
    <field name="DE" start="1" end="1"/>
    <field name="ZE" start="2" end="2"/>
    <field name="OE" start="3" end="3"/>
    <field name="UE" start="4" end="4"/>
    <field name="PE" start="5" end="5"/>
    <field name="DAZ" start="6" end="6"/>
    <field name="IM" start="7" end="7"/>
    <field name="DM" start="8" end="8"/>
    <field name="ZM" start="9" end="9"/>
    <field name="OM" start="10" end="10"/>
    <field name="UM" start="11" end="11"/>
    <field name="PM" start="12" end="12"/>
    <field name="FZ" start="15" end="15"/>
  </flags>
)";

// gdb's feature names; gdb checks them and the register names to recognise
// an amd64 target, and lldb-19 accepts them too.
constexpr FeatureInfo kFeatures[kFeatureCount] = {
    {"64bit-core.xml", "org.gnu.gdb.i386.core", kEflagsType},
    {"64bit-sse.xml", "org.gnu.gdb.i386.sse", kSseTypes},
    {"64bit-linux.xml", "org.gnu.gdb.i386.linux", ""},
    {"64bit-segments.xml", "org.gnu.gdb.i386.segments", ""},
    {"64bit-avx.xml", "org.gnu.gdb.i386.avx", ""},
};

// Where a register's value lives in a RegisterFile.
enum class Source {
  kGpr,       // user_regs_struct field, truncated to the register size
  kSt,        // x87 stack register: 10 of the 16 bytes in st_space
  kX87Ctrl,   // one of fctrl..fop, computed from the FXSAVE header
  kXmm,       // xmm_space
  kMxcsr,
  kYmmh,
};

using GprField = unsigned long long user_regs_struct::*;

struct Register {
  std::string name;
  int bits;
  const char* type;
  const char* group;
  Feature feature;
  Source source;
  GprField gpr = nullptr;  // kGpr
  int index = 0;           // kSt, kX87Ctrl, kXmm, kYmmh
};

std::vector<Register> build_table() {
  std::vector<Register> t;
  struct Gpr {
    const char* name;
    GprField field;
    const char* type;
  };
  const Gpr gprs[] = {
      {"rax", &user_regs_struct::rax, "int64"}, {"rbx", &user_regs_struct::rbx, "int64"},
      {"rcx", &user_regs_struct::rcx, "int64"}, {"rdx", &user_regs_struct::rdx, "int64"},
      {"rsi", &user_regs_struct::rsi, "int64"}, {"rdi", &user_regs_struct::rdi, "int64"},
      {"rbp", &user_regs_struct::rbp, "data_ptr"}, {"rsp", &user_regs_struct::rsp, "data_ptr"},
      {"r8", &user_regs_struct::r8, "int64"},   {"r9", &user_regs_struct::r9, "int64"},
      {"r10", &user_regs_struct::r10, "int64"}, {"r11", &user_regs_struct::r11, "int64"},
      {"r12", &user_regs_struct::r12, "int64"}, {"r13", &user_regs_struct::r13, "int64"},
      {"r14", &user_regs_struct::r14, "int64"}, {"r15", &user_regs_struct::r15, "int64"},
      {"rip", &user_regs_struct::rip, "code_ptr"},
  };
  for (const Gpr& g : gprs) t.push_back({g.name, 64, g.type, "general", kCore, Source::kGpr, g.field});
  t.push_back({"eflags", 32, "i386_eflags", "general", kCore, Source::kGpr, &user_regs_struct::eflags});
  const std::pair<const char*, GprField> segs[] = {
      {"cs", &user_regs_struct::cs}, {"ss", &user_regs_struct::ss}, {"ds", &user_regs_struct::ds},
      {"es", &user_regs_struct::es}, {"fs", &user_regs_struct::fs}, {"gs", &user_regs_struct::gs},
  };
  for (const auto& [name, field] : segs) t.push_back({name, 32, "int32", "general", kCore, Source::kGpr, field});
  for (int i = 0; i < 8; ++i) {
    t.push_back({"st" + std::to_string(i), 80, "i387_ext", "float", kCore, Source::kSt, nullptr, i});
  }
  const char* x87[] = {"fctrl", "fstat", "ftag", "fiseg", "fioff", "foseg", "fooff", "fop"};
  for (int i = 0; i < 8; ++i) t.push_back({x87[i], 32, "int", "float", kCore, Source::kX87Ctrl, nullptr, i});
  for (int i = 0; i < 16; ++i) {
    t.push_back({"xmm" + std::to_string(i), 128, "vec128", "vector", kSse, Source::kXmm, nullptr, i});
  }
  t.push_back({"mxcsr", 32, "i386_mxcsr", "vector", kSse, Source::kMxcsr});
  t.push_back({"orig_rax", 64, "int", "system", kLinux, Source::kGpr, &user_regs_struct::orig_rax});
  t.push_back({"fs_base", 64, "int", "system", kSegments, Source::kGpr, &user_regs_struct::fs_base});
  t.push_back({"gs_base", 64, "int", "system", kSegments, Source::kGpr, &user_regs_struct::gs_base});
  for (int i = 0; i < 16; ++i) {
    t.push_back({"ymm" + std::to_string(i) + "h", 128, "uint128", "vector", kAvx, Source::kYmmh, nullptr, i});
  }
  return t;
}

const std::vector<Register>& table() {
  static const std::vector<Register> t = build_table();
  return t;
}

const Register* find(int regno) {
  if (regno < 0 || regno >= static_cast<int>(table().size())) return nullptr;
  return &table()[regno];
}

// FXSAVE keeps an abridged tag (one "not empty" bit per physical register);
// gdb shows the full x87 tag word (2 bits: valid, zero, special, empty),
// which is derived from the register contents.
uint32_t full_tag_word(const user_fpregs_struct& f) {
  int top = (f.swd >> 11) & 7;
  uint32_t tag = 0;
  for (int phys = 0; phys < 8; ++phys) {
    uint32_t t = 3;  // empty
    if (f.ftw & (1u << phys)) {
      const auto* st = reinterpret_cast<const uint8_t*>(&f.st_space[((phys - top) & 7) * 4]);
      uint64_t mantissa;
      memcpy(&mantissa, st, 8);
      unsigned exponent = (st[9] << 8 | st[8]) & 0x7fff;
      if (exponent == 0x7fff) {
        t = 2;  // special: inf or NaN
      } else if (exponent == 0) {
        t = mantissa == 0 ? 1 : 2;  // zero, or denormal (special)
      } else {
        t = (mantissa >> 63) ? 0 : 2;  // valid, or unnormal (special)
      }
    }
    tag |= t << (2 * phys);
  }
  return tag;
}

uint16_t abridged_tag(uint32_t full) {
  uint16_t tag = 0;
  for (int phys = 0; phys < 8; ++phys) {
    if (((full >> (2 * phys)) & 3) != 3) tag |= 1u << phys;
  }
  return tag;
}

// fctrl..fop in 64-bit mode: gdb splits the 64-bit instruction and operand
// pointers into "offset" (low half) and "segment" (high half).
uint32_t get_x87_ctrl(const user_fpregs_struct& f, int index) {
  switch (index) {
    case 0: return f.cwd;
    case 1: return f.swd;
    case 2: return full_tag_word(f);
    case 3: return static_cast<uint32_t>(f.rip >> 32);
    case 4: return static_cast<uint32_t>(f.rip);
    case 5: return static_cast<uint32_t>(f.rdp >> 32);
    case 6: return static_cast<uint32_t>(f.rdp);
    default: return f.fop & 0x7ff;
  }
}

void set_x87_ctrl(user_fpregs_struct* f, int index, uint32_t v) {
  switch (index) {
    case 0: f->cwd = static_cast<uint16_t>(v); break;
    case 1: f->swd = static_cast<uint16_t>(v); break;
    case 2: f->ftw = abridged_tag(v); break;
    case 3: f->rip = (f->rip & 0xffffffffull) | static_cast<uint64_t>(v) << 32; break;
    case 4: f->rip = (f->rip & ~0xffffffffull) | v; break;
    case 5: f->rdp = (f->rdp & 0xffffffffull) | static_cast<uint64_t>(v) << 32; break;
    case 6: f->rdp = (f->rdp & ~0xffffffffull) | v; break;
    default: f->fop = static_cast<uint16_t>(v & 0x7ff); break;
  }
}

std::string feature_xml(Feature feature) {
  const FeatureInfo& info = kFeatures[feature];
  std::string xml = "<?xml version=\"1.0\"?>\n<!DOCTYPE feature SYSTEM \"gdb-target.dtd\">\n";
  xml += "<feature name=\"" + std::string(info.name) + "\">\n";
  xml += info.types;
  for (size_t regno = 0; regno < table().size(); ++regno) {
    const Register& r = table()[regno];
    if (r.feature != feature) continue;
    xml += "  <reg name=\"" + r.name + "\" bitsize=\"" + std::to_string(r.bits) +
           "\" type=\"" + r.type + "\" group=\"" + r.group + "\" regnum=\"" +
           std::to_string(regno) + "\"/>\n";
  }
  xml += "</feature>\n";
  return xml;
}

std::string target_xml() {
  std::string xml =
      "<?xml version=\"1.0\"?>\n<!DOCTYPE target SYSTEM \"gdb-target.dtd\">\n"
      "<target version=\"1.0\" xmlns:xi=\"http://www.w3.org/2001/XInclude\">\n"
      "  <architecture>i386:x86-64</architecture>\n"
      "  <osabi>GNU/Linux</osabi>\n";
  for (const FeatureInfo& f : kFeatures) xml += "  <xi:include href=\"" + std::string(f.file) + "\"/>\n";
  xml += "</target>\n";
  return xml;
}

}  // namespace

int register_count() { return static_cast<int>(table().size()); }

size_t register_size(int regno) {
  const Register* r = find(regno);
  return r ? r->bits / 8 : 0;
}

bool is_general_register(int regno) {
  const Register* r = find(regno);
  return r && r->source == Source::kGpr;
}

bool get_register(const RegisterFile& regs, int regno, std::vector<uint8_t>* out) {
  const Register* r = find(regno);
  if (!r) return false;
  size_t size = r->bits / 8;
  out->resize(size);
  const void* src = nullptr;
  uint32_t ctrl;
  switch (r->source) {
    case Source::kGpr: src = &(regs.gpr.*(r->gpr)); break;
    case Source::kSt: src = &regs.fpr.st_space[r->index * 4]; break;
    case Source::kX87Ctrl:
      ctrl = get_x87_ctrl(regs.fpr, r->index);
      src = &ctrl;
      break;
    case Source::kXmm: src = &regs.fpr.xmm_space[r->index * 4]; break;
    case Source::kMxcsr: src = &regs.fpr.mxcsr; break;
    case Source::kYmmh: src = regs.ymmh[r->index]; break;
  }
  // Little-endian: a narrower register is the low bytes of its field.
  memcpy(out->data(), src, size);
  return true;
}

bool set_register(RegisterFile* regs, int regno, const uint8_t* bytes) {
  const Register* r = find(regno);
  if (!r) return false;
  size_t size = r->bits / 8;
  switch (r->source) {
    case Source::kGpr: {
      unsigned long long value = 0;  // 32-bit registers zero-extend
      memcpy(&value, bytes, size);
      regs->gpr.*(r->gpr) = value;
      break;
    }
    case Source::kSt: memcpy(&regs->fpr.st_space[r->index * 4], bytes, size); break;
    case Source::kX87Ctrl: {
      uint32_t value;
      memcpy(&value, bytes, 4);
      set_x87_ctrl(&regs->fpr, r->index, value);
      break;
    }
    case Source::kXmm: memcpy(&regs->fpr.xmm_space[r->index * 4], bytes, size); break;
    case Source::kMxcsr: memcpy(&regs->fpr.mxcsr, bytes, size); break;
    case Source::kYmmh: memcpy(regs->ymmh[r->index], bytes, size); break;
  }
  return true;
}

std::vector<uint8_t> all_registers(const RegisterFile& regs) {
  std::vector<uint8_t> out, one;
  for (int regno = 0; regno < register_count(); ++regno) {
    get_register(regs, regno, &one);
    out.insert(out.end(), one.begin(), one.end());
  }
  return out;
}

std::optional<std::string> target_description(std::string_view annex) {
  if (annex == "target.xml") return target_xml();
  for (int f = 0; f < kFeatureCount; ++f) {
    if (annex == kFeatures[f].file) return feature_xml(static_cast<Feature>(f));
  }
  return std::nullopt;
}

}  // namespace rrx::amd64
