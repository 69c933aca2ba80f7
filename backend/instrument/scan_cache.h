// Scans of ELF files (jcc_scanner.h), cached on disk so that a program's
// libraries are decoded once per machine rather than at every process
// start. The cache lives in $RRX_CACHE_DIR, else $XDG_CACHE_HOME/rrx/
// branch-sites, else ~/.cache/rrx/branch-sites (directory 0700, files
// 0600, written whole then renamed). A file is keyed by its build-id and
// size, or without one by device, inode, size and mtime; an entry made by
// another scanner version, or damaged, is ignored and replaced.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "instrument/jcc_scanner.h"

namespace rrx::instrument {

// The scan of the file open as `fd`, whose contents are `file`.
bool load_or_scan(int fd, const uint8_t* file, size_t size, ScanResult* out, std::string* error);

// The cache's encoding of a scan (exposed for tests).
std::string encode_scan(const ScanResult& scan);
bool decode_scan(const std::string& bytes, ScanResult* out);

}  // namespace rrx::instrument
