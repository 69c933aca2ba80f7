// Names of the files in a trace directory (docs/trace-format.md).
#pragma once

namespace rrx::layout {

inline constexpr char kVersion[] = "version";
inline constexpr char kHeader[] = "header";
inline constexpr char kEvents[] = "events";
inline constexpr char kFiles[] = "files";
inline constexpr char kFilesManifest[] = "files.manifest";
inline constexpr char kComplete[] = "complete";

// The version file holds exactly this prefix, the decimal version, "\n".
inline constexpr char kVersionPrefix[] = "rrx-trace ";

}  // namespace rrx::layout
