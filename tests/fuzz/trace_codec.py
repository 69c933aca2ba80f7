"""Reads and writes the pieces of an rrx trace the fuzzer changes: frames
(docs/trace-format.md, "Frames"), the Cap'n Proto messages in their payloads
and the `complete` marker's file digests. Only what mutating needs: the
field layout of a message is found by walking its pointers, not from the
schema."""

import os
import shutil
import struct
import subprocess
import zlib

FRAME_HEADER_SIZE = 32
MAGIC = b"RRXF"
CODEC_NONE = 0
CODEC_ZSTD = 1
ZSTD_MAGIC = 0xFD2FB528
ZSTD_RAW_BLOCK_MAX = 128 * 1024


def crc32(data):
    return zlib.crc32(data) & 0xFFFFFFFF


class Frame:
    """One frame as found in a file: its header fields and stored payload."""

    def __init__(self, codec, raw_size, stored):
        self.codec = codec
        self.raw_size = raw_size
        self.stored = stored

    def header_bytes(self, payload_crc=None, stored_size=None):
        if payload_crc is None:
            payload_crc = crc32(self.stored)
        if stored_size is None:
            stored_size = len(self.stored)
        head = MAGIC + struct.pack("<IQQI", self.codec, stored_size,
                                   self.raw_size, payload_crc)
        return head + struct.pack("<I", crc32(head))

    def encode(self):
        return self.header_bytes() + self.stored


def split_frames(data):
    """The frames of a whole file; None if it is not a clean frame sequence."""
    frames, pos = [], 0
    while pos < len(data):
        if len(data) - pos < FRAME_HEADER_SIZE or data[pos:pos + 4] != MAGIC:
            return None
        codec, stored_size, raw_size, _ = struct.unpack_from("<IQQI", data, pos + 4)
        end = pos + FRAME_HEADER_SIZE + stored_size
        if end > len(data):
            return None
        frames.append(Frame(codec, raw_size, data[pos + FRAME_HEADER_SIZE:end]))
        pos = end
    return frames


def zstd_available():
    return shutil.which("zstd") is not None


def zstd_decompress(stored):
    return subprocess.run(["zstd", "-d", "-q", "-c"], input=stored, stdout=subprocess.PIPE,
                          stderr=subprocess.DEVNULL, check=True).stdout


def zstd_raw_frame(raw):
    """A zstd frame of uncompressed blocks with the content size set, which
    is all the reader asks of a chunk; no compressor needed."""
    # Frame header descriptor: 8-byte content size, single segment.
    out = bytearray(struct.pack("<IB", ZSTD_MAGIC, 0xE0) + struct.pack("<Q", len(raw)))
    pos = 0
    while True:
        block = raw[pos:pos + ZSTD_RAW_BLOCK_MAX]
        pos += len(block)
        last = pos >= len(raw)
        header = int(last) | (0 << 1) | (len(block) << 3)  # type 0: raw
        out += header.to_bytes(3, "little") + block
        if last:
            return bytes(out)


def payload_of(frame):
    """The raw payload of a frame (None if it cannot be decompressed)."""
    if frame.codec == CODEC_NONE:
        return frame.stored
    try:
        return zstd_decompress(frame.stored)
    except (subprocess.CalledProcessError, OSError):
        return None


def frame_with_payload(codec, raw):
    stored = raw if codec == CODEC_NONE else zstd_raw_frame(raw)
    return Frame(codec, len(raw), stored)


# --- Cap'n Proto messages (standard stream framing) ---

def split_messages(raw):
    """[(start, end)] byte ranges of the messages in a payload; stops at the
    first one that does not fit."""
    ranges, pos = [], 0
    while pos + 4 <= len(raw):
        count = struct.unpack_from("<I", raw, pos)[0] + 1
        table = 4 + 4 * count
        table += table % 8
        if count > 512 or pos + table > len(raw):
            break
        words = sum(struct.unpack_from("<%dI" % count, raw, pos + 4))
        end = pos + table + 8 * words
        if end > len(raw):
            break
        ranges.append((pos, end))
        pos = end
    return ranges


class MessageMap:
    """Where the fields of one single-segment message are, as byte offsets
    into the message: `data_words` (struct data sections: the scalar
    fields), `pointers` (kind, offset) and `blobs` (byte and text lists:
    regs, siginfo, names, memory contents)."""

    def __init__(self, message):
        self.data_words = []
        self.pointers = []
        self.blobs = []
        count = struct.unpack_from("<I", message, 0)[0] + 1
        table = 4 + 4 * count
        self.base = table + table % 8
        self.message = message
        self.visited = set()
        if count == 1 and self.base + 8 <= len(message):
            self._pointer(self.base, depth=0)

    def _word(self, offset):
        return struct.unpack_from("<Q", self.message, offset)[0]

    def _inside(self, start, size):
        return self.base <= start and start + size <= len(self.message)

    def _pointer(self, at, depth):
        if depth > 16 or at in self.visited or not self._inside(at, 8):
            return
        self.visited.add(at)
        word = self._word(at)
        if word == 0:
            return
        kind = word & 3
        offset = (word >> 2) & 0x3FFFFFFF
        if offset & 0x20000000:
            offset -= 0x40000000
        target = at + 8 + 8 * offset
        if kind == 0:
            self.pointers.append(("struct", at))
            data, ptrs = (word >> 32) & 0xFFFF, word >> 48
            self._struct(target, data, ptrs, depth)
        elif kind == 1:
            self.pointers.append(("list", at))
            self._list(target, (word >> 32) & 7, word >> 35, depth)
        else:
            self.pointers.append(("other", at))

    def _struct(self, start, data, ptrs, depth):
        if not self._inside(start, 8 * (data + ptrs)):
            return
        self.data_words += [start + 8 * i for i in range(data)]
        for i in range(ptrs):
            self._pointer(start + 8 * (data + i), depth + 1)

    def _list(self, start, size, count, depth):
        if size == 2 and self._inside(start, count):  # bytes: Data, Text
            self.blobs.append((start, count))
        elif size in (3, 4, 5) and self._inside(start, count * (1 << (size - 2))):
            self.data_words += [start + 8 * i for i in range(count * (1 << (size - 2)) // 8)]
        elif size == 6 and self._inside(start, 8 * count):
            for i in range(min(count, 64)):
                self._pointer(start + 8 * i, depth + 1)
        elif size == 7 and self._inside(start, 8):
            tag = self._word(start)
            elements = (tag >> 2) & 0x3FFFFFFF
            data, ptrs = (tag >> 32) & 0xFFFF, tag >> 48
            self.pointers.append(("tag", start))
            step = 8 * (data + ptrs)
            for i in range(min(elements, 64)):
                self._struct(start + 8 + i * step, data, ptrs, depth + 1)


# --- the `complete` marker ---

def file_digest(data):
    return struct.pack("<QI", len(data), crc32(data))


def replace_events(trace, old, new):
    """Writes `new` as the `events` file of the trace directory (whose events
    were `old`) with its `complete` marker made to match; False (nothing
    written) if the marker cannot be refreshed."""
    with open(os.path.join(trace, "complete"), "rb") as f:
        marker = refresh_marker(f.read(), old, new)
    if marker is None:
        return False
    for name, data in (("events", new), ("complete", marker)):
        with open(os.path.join(trace, name), "wb") as f:
            f.write(data)
    return True


def refresh_marker(marker, old_file, new_file):
    """`complete` with the digest recorded for old_file replaced by that of
    new_file (the FileDigest struct: size u64 then crc32 u32, so the pair is
    12 consecutive bytes of its data section). None if the marker is not a
    clean single frame or does not hold the old digest exactly once."""
    frames = split_frames(marker)
    old, new = file_digest(old_file), file_digest(new_file)
    if not frames or len(frames) != 1 or frames[0].stored.count(old) != 1:
        return None
    payload = frames[0].stored.replace(old, new)
    return frame_with_payload(CODEC_NONE, payload).encode()
