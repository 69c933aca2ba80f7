// site_cache.h - scans of files kept on disk, so that a program's libraries
// are decoded once, not at every process start.
//
// A cached scan is keyed by the file's build-id when it has one (the same
// bytes wherever they are installed), else by (device, inode, size,
// mtime_ns). Each entry also stores the file's size and mtime, checked on
// load: a file rewritten in place without a new build-id (or with a
// recycled inode) is rescanned. Entries are written atomically (temporary
// file + rename), the directory is 0700 and files 0600: another user must
// not be able to make us patch their choice of bytes.
#ifndef RRX_INSTRUMENT_SITE_CACHE_H
#define RRX_INSTRUMENT_SITE_CACHE_H

#include <cstdint>
#include <string>

#include "instrument/branch_sites.h"

namespace rrx::instrument {

// The byte form of a scan: magic, format version (which includes
// kScanRulesVersion), payload, checksum.
std::string serialize_scan(const ScanResult& r);
// False, *out untouched, on anything truncated, corrupt or of another
// version.
bool deserialize_scan(const std::string& bytes, ScanResult* out);

// $RRX_CACHE_DIR, else $XDG_CACHE_HOME/rrx/branch-sites, else
// $HOME/.cache/rrx/branch-sites. Empty if none can be named.
std::string default_cache_dir();

struct LoadOrScanStats {
  bool hit = false;        // came from the cache
  bool stored = false;     // a fresh scan was written to the cache
  double scan_ms = 0;      // time spent decoding (0 on a hit)
};

// The scan of the file at `path`: from `cache_dir` (default_cache_dir() if
// empty) when an entry matches, else by reading and scanning the file and
// storing the result (cache failures are not errors). False only if the
// file cannot be read or is not an ELF file we scan.
bool load_or_scan(const std::string& path, ScanResult* out,
                  std::string* error = nullptr,
                  const std::string& cache_dir = std::string(),
                  LoadOrScanStats* stats = nullptr);

}  // namespace rrx::instrument

#endif  // RRX_INSTRUMENT_SITE_CACHE_H
