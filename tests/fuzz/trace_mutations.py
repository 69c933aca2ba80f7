"""Damages a copy of a trace in one of many ways, chosen by a random.Random:
raw damage (bit flips, truncation, garbage, deleted or replaced files,
FIFOs, symlinks) that the CRCs should catch, and damage made to look valid
(a frame decoded, a field, byte or message of it changed, its CRCs and the
`complete` marker's digests recomputed) that only deeper checks can catch.

Saved files under files/ are hardlinks into the seed trace (and often from
there into the system: libc), so nothing here writes into an existing file:
a changed file is always written as a new inode."""

import os
import shutil
import stat
import struct

import trace_codec as tc

TOP_FILES = ["version", "header", "events", "files.manifest", "complete"]
SINGLE_FRAME_FILES = ["header", "files.manifest", "complete"]
INTERESTING_WORDS = [0, 1, 2, 7, 8, 0x7F, 0x80, 0xFF, 0x100, 0xFFFF, 0x10000,
                     0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 1 << 32, 1 << 40,
                     (1 << 63) - 1, 1 << 63, (1 << 64) - 1]
NASTY_BYTES = b"./\x00\n\r\x1b%\xff\x7f$#}*"


def copy_trace(seed, dest):
    """A copy of `seed` at `dest` with the reader's modes: directories 0700,
    the top-level files copied 0600, saved files hardlinked."""
    os.mkdir(dest, 0o700)
    for name in os.listdir(seed):
        src, dst = os.path.join(seed, name), os.path.join(dest, name)
        if name == "files":
            os.mkdir(dst, 0o700)
            for saved in os.listdir(src):
                os.link(os.path.join(src, saved), os.path.join(dst, saved))
        else:
            shutil.copyfile(src, dst)
            os.chmod(dst, 0o600)


class NotRegular(OSError):
    """What a mutation wanted to read is no longer a regular file."""


class Trace:
    """A trace copy being damaged."""

    def __init__(self, path, can_decompress):
        self.path = path
        # Without the zstd tool, chunks of `events` cannot be decoded.
        self.can_decompress = can_decompress

    def file(self, name):
        return os.path.join(self.path, name)

    def is_regular(self, name):
        """A regular file, not a link (earlier mutations make FIFOs and
        links, which must not be opened here: a FIFO would block)."""
        try:
            return stat.S_ISREG(os.lstat(self.file(name)).st_mode)
        except OSError:
            return False

    def read(self, name):
        if not self.is_regular(name):
            raise NotRegular(name)
        with open(self.file(name), "rb") as f:
            return f.read()

    def write(self, name, data):
        path = self.file(name)
        if os.path.lexists(path):
            os.unlink(path)  # never write through a hardlink
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(data)

    def saved_names(self):
        files = self.file("files")
        if os.path.islink(files) or not os.path.isdir(files):
            return []
        return sorted(os.listdir(files))

    def existing(self, names):
        return [n for n in names if self.is_regular(n)]

    def any_file(self, rng):
        names = self.existing(TOP_FILES + ["files/" + n for n in self.saved_names()])
        if not names:
            raise NotRegular("any file")
        return rng.choice(names)

    def replace_keeping_marker(self, name, data, rng):
        """Writes `data` as `name` and, most of the time, records its new
        digest in `complete` so the whole-file checks pass too."""
        old = self.read(name)
        self.write(name, data)
        if name == "complete" or rng.random() < 0.1:
            return ""
        marker = tc.refresh_marker(self.read("complete"), old, data)
        if marker is None:
            return " (marker not updated)"
        self.write("complete", marker)
        return " (marker updated)"


# --- raw damage ---

def flip_bits(rng, trace):
    name = trace.any_file(rng)
    data = bytearray(trace.read(name))
    if not data:
        return "flip: %s is empty" % name
    flips = rng.choice([1, 1, 2, 8])
    for _ in range(flips):
        data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
    trace.write(name, bytes(data))
    return "flip %d bits of %s" % (flips, name)


def overwrite_bytes(rng, trace):
    name = trace.any_file(rng)
    data = bytearray(trace.read(name))
    if not data:
        return "overwrite: %s is empty" % name
    at = rng.randrange(len(data))
    length = min(len(data) - at, rng.choice([1, 4, 8, 32, 512]))
    data[at:at + length] = bytes(rng.randrange(256) for _ in range(length))
    trace.write(name, bytes(data))
    return "overwrite %d bytes of %s at %d" % (length, name, at)


def truncate(rng, trace):
    name = trace.any_file(rng)
    data = trace.read(name)
    cut = rng.choice([0, 1, tc.FRAME_HEADER_SIZE - 1, tc.FRAME_HEADER_SIZE,
                      rng.randrange(len(data) + 1), max(len(data) - 1, 0)])
    cut = min(cut, len(data))
    trace.write(name, data[:cut])
    return "truncate %s to %d of %d bytes" % (name, cut, len(data))


def append_garbage(rng, trace):
    name = trace.any_file(rng)
    data = trace.read(name)
    frames = tc.split_frames(data) or []
    if frames and rng.random() < 0.5:
        extra = rng.choice(frames).encode()  # a valid frame, out of place
    else:
        extra = bytes(rng.randrange(256) for _ in range(rng.choice([1, 8, 32, 100])))
    trace.write(name, data + extra)
    return "append %d bytes to %s" % (len(extra), name)


def delete_entry(rng, trace):
    choices = TOP_FILES + ["files"] + ["files/" + n for n in trace.saved_names()]
    name = rng.choice(choices)
    path = trace.file(name)
    if os.path.isdir(path):
        shutil.rmtree(path)
    elif os.path.lexists(path):
        os.unlink(path)
    return "delete " + name


def replace_special(rng, trace):
    """A file replaced by something that is not a regular file of the trace."""
    choices = TOP_FILES + ["files/" + n for n in trace.saved_names()]
    name = rng.choice(choices)
    path = trace.file(name)
    original = os.path.realpath(path)
    kind = rng.choice(["fifo", "devzero", "passwd", "outside", "dir", "empty",
                       "devnull", "dangling", "self"])
    outside = path + ".outside"
    if kind == "outside" and trace.is_regular(name):
        shutil.copyfile(path, outside)  # same bytes, but out of the trace
    if os.path.lexists(path):
        os.unlink(path)
    if kind == "fifo":
        os.mkfifo(path, 0o600)
    elif kind == "devzero":
        os.symlink("/dev/zero", path)
    elif kind == "passwd":
        os.symlink("/etc/passwd", path)
    elif kind == "outside":
        os.symlink(outside if os.path.exists(outside) else original, path)
    elif kind == "dir":
        os.mkdir(path, 0o700)
    elif kind == "empty":
        trace.write(name, b"")
    elif kind == "devnull":
        os.symlink("/dev/null", path)
    elif kind == "dangling":
        os.symlink(path + ".missing", path)
    else:
        os.symlink(os.path.basename(path), path)  # a loop
    return "replace %s with %s" % (name, kind)


def version_text(rng, trace):
    text = rng.choice([b"rrx-trace 0\n", b"rrx-trace 1\n", b"rrx-trace 3\n",
                       b"rrx-trace 99999999999999999999\n", b"rrx-trace 2",
                       b"rrx-trace -2\n", b"rrx-trace 02\n", b"rrx-trace 2\n\n",
                       b"\n", b"rrx-trace \n", b"rrx-trace 2\x00\n",
                       b"rrx-trace 4294967297\n", b"x" * 100])
    trace.write("version", text)
    return "version file %r" % text


# --- damage behind valid CRCs ---

def _frames_of(rng, trace, names):
    names = trace.existing(names)
    if not names:
        return None, None, None
    name = rng.choice(names)
    frames = tc.split_frames(trace.read(name))
    return (name, frames, rng.randrange(len(frames))) if frames else (name, None, None)


def frame_header_field(rng, trace):
    """A frame header field changed; the header CRC (and sometimes the
    payload CRC) recomputed to match."""
    name, frames, i = _frames_of(rng, trace, ["events"] + SINGLE_FRAME_FILES)
    if not frames:
        return "frame header: no frames in %s" % name
    f = frames[i]
    field = rng.choice(["codec", "raw_size", "stored_size", "payload_crc"])
    value = rng.choice(INTERESTING_WORDS + [f.raw_size + 8, f.raw_size - 8,
                                            4 << 30, (4 << 30) + 8])
    value &= (1 << 64) - 1
    kwargs = {}
    if field == "codec":
        f.codec = value & 0xFFFFFFFF
    elif field == "raw_size":
        f.raw_size = value
    elif field == "stored_size":
        kwargs["stored_size"] = value
    else:
        kwargs["payload_crc"] = value & 0xFFFFFFFF
    frames[i] = None
    data = b"".join(fr.encode() if fr else f.header_bytes(**kwargs) + f.stored
                    for fr in frames)
    note = trace.replace_keeping_marker(name, data, rng)
    return "frame %d of %s: %s = %#x%s" % (i, name, field, value, note)


def zstd_content_size(rng, trace):
    """A chunk whose zstd frame and frame header agree on a raw size its
    blocks do not hold (up to 4 GiB), every CRC fixed."""
    got = _decoded(rng, trace, ["events"])
    if not got:
        return "zstd content size: nothing decodable"
    name, frames, i, raw = got
    size = rng.choice([len(raw) + 8, 1 << 30, 4 << 30, (4 << 30) - 8])
    stored = bytearray(tc.zstd_raw_frame(raw))
    stored[5:13] = struct.pack("<Q", size)  # the frame content size field
    frames[i] = tc.Frame(tc.CODEC_ZSTD, size, bytes(stored))
    note = trace.replace_keeping_marker(name, b"".join(f.encode() for f in frames), rng)
    return "chunk %d of events: zstd content size %#x for %d bytes%s" % (i, size, len(raw), note)


def _rewrite_payload(rng, trace, name, frames, i, raw):
    frames[i] = tc.frame_with_payload(frames[i].codec, raw)
    note = trace.replace_keeping_marker(name, b"".join(f.encode() for f in frames), rng)
    return note


def _decoded(rng, trace, names):
    if not trace.can_decompress:
        names = [n for n in names if n != "events"]
    name, frames, i = _frames_of(rng, trace, names)
    if not frames:
        return None
    raw = tc.payload_of(frames[i])
    if raw is None:
        return None
    return name, frames, i, raw


def payload_bytes(rng, trace):
    """Random bytes of a decoded payload changed, CRCs fixed."""
    got = _decoded(rng, trace, ["events"] + SINGLE_FRAME_FILES)
    if not got or not got[3]:
        return "payload bytes: nothing decodable"
    name, frames, i, raw = got
    raw = bytearray(raw)
    for _ in range(rng.choice([1, 1, 3, 16])):
        raw[rng.randrange(len(raw))] = rng.randrange(256)
    note = _rewrite_payload(rng, trace, name, frames, i, bytes(raw))
    return "payload bytes of frame %d of %s%s" % (i, name, note)


def message_field(rng, trace):
    """One field of one message changed: a scalar, a pointer (offset,
    sizes, list length) or bytes of a blob (regs, names, memory); CRCs
    fixed."""
    got = _decoded(rng, trace, ["events", "events"] + SINGLE_FRAME_FILES)
    if not got:
        return "message field: nothing decodable"
    name, frames, i, raw = got
    ranges = tc.split_messages(raw)
    if not ranges:
        return "message field: no messages in %s" % name
    start, end = rng.choice(ranges)
    message = bytearray(raw[start:end])
    fields = tc.MessageMap(bytes(message))
    what = _change_field(rng, message, fields)
    raw = raw[:start] + bytes(message) + raw[end:]
    note = _rewrite_payload(rng, trace, name, frames, i, raw)
    return "message at %d of frame %d of %s: %s%s" % (start, i, name, what, note)


def _change_field(rng, message, fields):
    choice = rng.random()
    if fields.blobs and choice < 0.3:
        at, length = rng.choice(fields.blobs)
        if length == 0:
            return "empty blob"
        for _ in range(rng.choice([1, 2, length])):
            message[at + rng.randrange(length)] = rng.choice(NASTY_BYTES)
        return "blob of %d bytes at %d" % (length, at)
    if fields.pointers and choice < 0.6:
        kind, at = rng.choice(fields.pointers)
        word = struct.unpack_from("<Q", message, at)[0]
        part = rng.choice(["offset", "high", "null", "kind"])
        if part == "offset":
            word = (word & ~(0x3FFFFFFF << 2)) | (rng.randrange(1 << 30) << 2)
        elif part == "high":  # struct sizes or list element size and count
            word = (word & 0xFFFFFFFF) | (rng.choice(INTERESTING_WORDS + [rng.getrandbits(32)]) & 0xFFFFFFFF) << 32
        elif part == "null":
            word = 0
        else:
            word = (word & ~3) | rng.randrange(4)
        struct.pack_into("<Q", message, at, word & ((1 << 64) - 1))
        return "%s pointer at %d: %s" % (kind, at, part)
    if not fields.data_words:
        return "no fields"
    at = rng.choice(fields.data_words)
    width = rng.choice([1, 2, 4, 8])
    at += rng.randrange(8 // width) * width
    old = int.from_bytes(message[at:at + width], "little")
    value = rng.choice(INTERESTING_WORDS + [old + 1, old - 1, old ^ 1, rng.getrandbits(64)])
    value &= (1 << (8 * width)) - 1
    message[at:at + width] = value.to_bytes(width, "little")
    return "%d-byte field at %d: %#x -> %#x" % (width, at, old, value)


def reorder_messages(rng, trace):
    """Whole events dropped, repeated or swapped within a chunk, or a chunk
    split in two or dropped: every CRC fixed, so only the event checks
    (seq order, counts, kinds) stand between it and replay."""
    got = _decoded(rng, trace, ["events"])
    if not got:
        return "reorder: nothing decodable"
    name, frames, i, raw = got
    messages = [raw[s:e] for s, e in tc.split_messages(raw)]
    if len(messages) < 2:
        return "reorder: one message"
    a, b = sorted(rng.sample(range(len(messages)), 2))
    op = rng.choice(["drop", "repeat", "swap", "split", "drop_chunk", "truncate"])
    if op == "drop":
        del messages[a]
    elif op == "repeat":
        messages.insert(a, messages[a])
    elif op == "swap":
        messages[a], messages[b] = messages[b], messages[a]
    elif op == "truncate":
        messages = messages[:a]
    if op == "split":
        first = tc.frame_with_payload(tc.CODEC_ZSTD, b"".join(messages[:a]))
        second = tc.frame_with_payload(tc.CODEC_ZSTD, b"".join(messages[a:]))
        frames[i:i + 1] = [first, second]
    elif op == "drop_chunk":
        del frames[i]
    else:
        frames[i] = tc.frame_with_payload(tc.CODEC_ZSTD, b"".join(messages))
    note = trace.replace_keeping_marker(name, b"".join(f.encode() for f in frames), rng)
    return "events chunk %d: %s messages %d/%d of %d%s" % (i, op, a, b, len(messages), note)


def saved_file_behind_manifest(rng, trace):
    """A saved file changed and its manifest entry (size, crc32) changed to
    match, and the marker too: replay gets a file that passes every check."""
    names = trace.saved_names()
    if not names or not trace.is_regular("files.manifest"):
        return "saved file: none"
    name = "files/" + rng.choice(names)
    old = trace.read(name)
    data = bytearray(old)
    op = rng.choice(["flip", "truncate", "empty"])
    if op == "flip" and data:
        for _ in range(rng.choice([1, 16, 256])):
            data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
    elif op == "truncate":
        del data[rng.randrange(len(data) + 1):]
    else:
        data = bytearray()
    manifest = tc.split_frames(trace.read("files.manifest"))
    old_digest = struct.pack("<Q", len(old)), struct.pack("<I", tc.crc32(old))
    if not manifest or len(manifest) != 1:
        return "saved file: manifest not a frame"
    payload = bytearray(manifest[0].stored)
    at = _find_saved_entry(payload, *old_digest)
    if at is None:
        return "saved file: %s not found in the manifest" % name
    payload[at:at + 8] = struct.pack("<Q", len(data))
    payload[at + 16:at + 20] = struct.pack("<I", tc.crc32(bytes(data)))
    trace.write(name, bytes(data))
    encoded = tc.frame_with_payload(tc.CODEC_NONE, bytes(payload)).encode()
    note = trace.replace_keeping_marker("files.manifest", encoded, rng)
    return "%s %s behind a matching manifest%s" % (op, name, note)


def _find_saved_entry(payload, size, crc):
    # SavedFile's data section: size u64, mtimeNs i64, crc32 u32.
    at = payload.find(size)
    while at >= 0:
        if at % 8 == 0 and payload[at + 16:at + 20] == crc:
            return at
        at = payload.find(size, at + 1)
    return None


RAW = [flip_bits, overwrite_bytes, truncate, append_garbage, delete_entry,
       replace_special, version_text]
BEHIND_CRC = [frame_header_field, payload_bytes, message_field, message_field,
              message_field, reorder_messages, saved_file_behind_manifest,
              zstd_content_size]


def mutate(rng, trace):
    """Applies one to three mutations; returns what was done."""
    done = []
    for _ in range(rng.choice([1, 1, 1, 2, 3])):
        mutation = rng.choice(BEHIND_CRC if rng.random() < 0.6 else RAW)
        try:
            done.append(mutation(rng, trace))
        except OSError as e:
            # An earlier mutation removed what this one needed.
            done.append("%s: skipped (%s)" % (mutation.__name__, e.__class__.__name__))
    return "; ".join(done)
