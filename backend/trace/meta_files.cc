#include "trace/meta_files.h"

#include "trace.capnp.h"
#include "trace/event_codec.h"
#include "trace/message_io.h"

namespace rrx {
namespace {

void set_digest(const FileDigest& d, proto::FileDigest::Builder out) {
  out.setSize(d.size);
  out.setCrc32(d.crc32);
}

FileDigest get_digest(proto::FileDigest::Reader in) {
  return {in.getSize(), in.getCrc32()};
}

}  // namespace

std::string encode_header_file(const TraceHeader& header) {
  capnp::MallocMessageBuilder message;
  encode_header(header, message.initRoot<proto::TraceHeader>());
  return single_frame(message);
}

bool decode_header_file(const std::string& file, TraceHeader* out,
                        std::string* error) {
  auto decode = [&](proto::TraceHeader::Reader header) {
    return decode_header(header, out, error);
  };
  return decode_single_message<proto::TraceHeader>(file, decode, error);
}

bool is_saved_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '+' || c == '-';
}

bool is_valid_saved_name(const std::string& name) {
  if (name.empty() || name == "." || name == "..") return false;
  for (char c : name)
    if (!is_saved_name_char(c)) return false;
  return true;
}

std::string encode_manifest(const std::vector<SavedFileInfo>& files) {
  capnp::MallocMessageBuilder message;
  auto list = message.initRoot<proto::FilesManifest>().initFiles(files.size());
  for (size_t i = 0; i < files.size(); ++i) {
    const SavedFileInfo& f = files[i];
    list[i].setName(f.name);
    list[i].setOriginalPath(
        {reinterpret_cast<const kj::byte*>(f.original_path.data()),
         f.original_path.size()});
    list[i].setSize(f.size);
    list[i].setMtimeNs(f.mtime_ns);
    list[i].setCrc32(f.crc32);
  }
  return single_frame(message);
}

bool decode_manifest(const std::string& file, std::vector<SavedFileInfo>* out,
                     std::string* error) {
  auto decode = [&](proto::FilesManifest::Reader manifest) {
    for (auto f : manifest.getFiles()) {
      SavedFileInfo info;
      info.name = f.getName().cStr();
      if (!is_valid_saved_name(info.name)) {
        *error = "invalid saved file name '" + info.name + "'";
        return false;
      }
      auto path = f.getOriginalPath();
      info.original_path.assign(reinterpret_cast<const char*>(path.begin()),
                                path.size());
      info.size = f.getSize();
      info.mtime_ns = f.getMtimeNs();
      info.crc32 = f.getCrc32();
      out->push_back(std::move(info));
    }
    return true;
  };
  out->clear();
  for (size_t offset = 0; offset < file.size();) {
    FrameHeader header;
    std::string at = " at offset " + std::to_string(offset);
    if (file.size() - offset < kFrameHeaderSize) {
      *error = "truncated frame header" + at;
      return false;
    }
    if (!parse_frame_header(file.data() + offset, &header, error)) {
      *error += at;
      return false;
    }
    if (header.stored_size > file.size() - offset - kFrameHeaderSize) {
      *error = "truncated frame" + at;
      return false;
    }
    std::string frame = file.substr(offset, kFrameHeaderSize + header.stored_size);
    if (!decode_single_message<proto::FilesManifest>(frame, decode, error)) {
      *error += at;
      return false;
    }
    offset += frame.size();
  }
  return true;
}

std::string encode_marker(const CompleteMarker& marker) {
  capnp::MallocMessageBuilder message;
  auto root = message.initRoot<proto::CompleteMarker>();
  encode_summary(marker.summary, root.initSummary());
  set_digest(marker.events, root.initEvents());
  set_digest(marker.header, root.initHeader());
  set_digest(marker.files_manifest, root.initFilesManifest());
  return single_frame(message);
}

bool decode_marker(const std::string& file, CompleteMarker* out,
                   std::string* error) {
  auto decode = [&](proto::CompleteMarker::Reader marker) {
    out->summary = decode_summary(marker.getSummary());
    out->events = get_digest(marker.getEvents());
    out->header = get_digest(marker.getHeader());
    out->files_manifest = get_digest(marker.getFilesManifest());
    return true;
  };
  return decode_single_message<proto::CompleteMarker>(file, decode, error);
}

}  // namespace rrx
