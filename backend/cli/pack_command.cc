#include <cinttypes>
#include <cstdio>

#include "cli/commands.h"
#include "core/printable.h"
#include "trace/trace_dir.h"
#include "trace/trace_packer.h"
#include "trace/trace_reader.h"

namespace rrx {

int pack_command(const std::string& arg) {
  std::string error;
  // Only a trace that reads (and whose saved files are intact) is packed.
  auto reader = TraceReader::open(resolve_trace(arg), &error);
  if (!reader) return usage_error(error);
  PackResult packed;
  if (!pack_trace(reader->dir(), reader->saved_files(), &packed, &error)) return usage_error("pack: " + error);
  printf("rrx: packed %s: %" PRIu64 " files (%" PRIu64 " bytes) copied in, %" PRIu64
         " duplicates (%" PRIu64 " bytes) merged\n",
         printable(reader->dir()).c_str(), packed.copied_files, packed.copied_bytes,
         packed.merged_files, packed.merged_bytes);
  return 0;
}

}  // namespace rrx
