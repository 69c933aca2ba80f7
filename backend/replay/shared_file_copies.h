// Writable copies of saved files that replayed processes map MAP_SHARED:
// one copy per saved file, so every process mapping it shares its pages as
// the recorded processes did (a memfd mapped before fork, a file two
// processes map), and nothing ever writes into the trace itself.
#pragma once

#include <map>
#include <string>

namespace rrx {

class SharedFileCopies {
 public:
  SharedFileCopies() = default;
  ~SharedFileCopies();  // removes the copies
  SharedFileCopies(const SharedFileCopies&) = delete;
  SharedFileCopies& operator=(const SharedFileCopies&) = delete;

  // The copy of the trace's file at `saved_path`, made on first use in a
  // private (0700) temporary directory. "" with *error on failure.
  std::string copy_of(const std::string& saved_path, std::string* error);

 private:
  std::string dir_;
  std::map<std::string, std::string> copies_;  // saved path -> copy
};

}  // namespace rrx
