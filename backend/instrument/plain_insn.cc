#include "instrument/plain_insn.h"

namespace rrx::instrument {

bool is_plain_insn(const ZydisDecodedInstruction& in) {
  bool plain = false;
  switch (in.meta.category) {
    case ZYDIS_CATEGORY_BINARY: case ZYDIS_CATEGORY_LOGICAL:
    case ZYDIS_CATEGORY_DATAXFER: case ZYDIS_CATEGORY_MISC:
    case ZYDIS_CATEGORY_SHIFT: case ZYDIS_CATEGORY_ROTATE:
    case ZYDIS_CATEGORY_BITBYTE: case ZYDIS_CATEGORY_CONVERT:
    case ZYDIS_CATEGORY_CMOV: case ZYDIS_CATEGORY_SETCC:
    case ZYDIS_CATEGORY_PUSH: case ZYDIS_CATEGORY_POP:
    case ZYDIS_CATEGORY_FLAGOP: case ZYDIS_CATEGORY_SEMAPHORE:
    case ZYDIS_CATEGORY_STRINGOP: case ZYDIS_CATEGORY_SSE:
    case ZYDIS_CATEGORY_AVX: case ZYDIS_CATEGORY_AVX2:
    case ZYDIS_CATEGORY_AVX512: case ZYDIS_CATEGORY_BMI1:
    case ZYDIS_CATEGORY_BMI2: case ZYDIS_CATEGORY_LZCNT:
    case ZYDIS_CATEGORY_X87_ALU: case ZYDIS_CATEGORY_MMX:
    case ZYDIS_CATEGORY_VFMA: case ZYDIS_CATEGORY_LOGICAL_FP:
    case ZYDIS_CATEGORY_BROADCAST: case ZYDIS_CATEGORY_BLEND:
    case ZYDIS_CATEGORY_AES: case ZYDIS_CATEGORY_PCLMULQDQ:
    case ZYDIS_CATEGORY_SHA: case ZYDIS_CATEGORY_ADOX_ADCX:
    case ZYDIS_CATEGORY_STTNI: case ZYDIS_CATEGORY_PREFETCH:
    // AVX-512's mask registers (kmov, kortest: libc's string functions
    // test them right before their loop branches) and extensions.
    case ZYDIS_CATEGORY_KMASK: case ZYDIS_CATEGORY_AVX512_BITALG:
    case ZYDIS_CATEGORY_AVX512_VBMI: case ZYDIS_CATEGORY_CONFLICT:
    case ZYDIS_CATEGORY_COMPRESS: case ZYDIS_CATEGORY_EXPAND:
    case ZYDIS_CATEGORY_IFMA: case ZYDIS_CATEGORY_FP16:
    case ZYDIS_CATEGORY_GFNI: case ZYDIS_CATEGORY_VAES:
      plain = true;
      break;
    default:
      break;
  }
  switch (in.mnemonic) {
    case ZYDIS_MNEMONIC_UD0: case ZYDIS_MNEMONIC_UD1:
    case ZYDIS_MNEMONIC_UD2: case ZYDIS_MNEMONIC_HLT:
    case ZYDIS_MNEMONIC_CPUID: case ZYDIS_MNEMONIC_RDTSC:
    case ZYDIS_MNEMONIC_RDTSCP: case ZYDIS_MNEMONIC_RDPMC:
    case ZYDIS_MNEMONIC_NOP: case ZYDIS_MNEMONIC_INT3:
    case ZYDIS_MNEMONIC_ENDBR32: case ZYDIS_MNEMONIC_ENDBR64:
      plain = false;
      break;
    default:
      break;
  }
  if (in.attributes & (ZYDIS_ATTRIB_IS_PRIVILEGED)) plain = false;
  // A relative immediate is a branch whatever its category says.
  if (in.raw.imm[0].is_relative || in.raw.imm[1].is_relative) plain = false;
  return plain;
}

}  // namespace rrx::instrument
