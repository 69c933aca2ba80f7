"""Random gdb remote protocol input for the fuzzer: random bytes, packets
of every command rrx serves with random arguments, wrong checksums,
oversized and unterminated packets, binary X/M payloads, vCont variants,
run-length encoding, Ctrl-C bytes and acks. Each generator returns the
bytes to send and whether they make the server resume the replay."""

ESCAPED = b"#$}*"
COMMANDS = b"?!qQjHTgGpPmxMXZzcsCSbvDk"
RESUMES = ["c", "s", "C05", "S0b", "bc", "bs", "vCont;c", "vCont;s"]
MONITOR = ["when", "when-ticks", "when-tid", "checkpoint", "info checkpoints",
           "delete checkpoint 1", "restart 1", "restart 99", "bogus", "", "\x1b[2J"]
XFER_OBJECTS = ["features", "auxv", "exec-file", "libraries-svr4", "siginfo", "bogus", ""]
ANNEXES = ["target.xml", "64bit-core.xml", "i386/amd64.xml", "", "../x", "a:b"]


def checksum(payload):
    return sum(payload) & 0xFF


def frame(payload):
    return b"$" + payload + b"#%02x" % checksum(payload)


def escape(data):
    out = bytearray()
    for b in data:
        if b in ESCAPED:
            out += bytes([0x7D, b ^ 0x20])
        else:
            out.append(b)
    return bytes(out)


class Generator:
    def __init__(self, rng):
        self.rng = rng

    def number(self):
        r = self.rng
        return r.choice([0, 1, 8, 0x10, 0x400, 0x20000, 0x20001, 0x400000,
                         0x7FFFFFFFFFFF, 0x7FFFFFFFF000, 0xFFFFFFFFFFFFFFFF,
                         1 << 63, r.getrandbits(16), r.getrandbits(48), r.getrandbits(64)])

    def hexnum(self):
        r = self.rng
        if r.random() < 0.05:
            return r.choice(["", "-1", "g", "0x10", "1" * 17, "ffffffffffffffffff", " 1"])
        return "%x" % self.number()

    def thread(self):
        r = self.rng
        return r.choice(["-1", "0", "p-1.-1", "p%s.%s" % (self.hexnum(), self.hexnum()),
                         self.hexnum(), "p%s" % self.hexnum(), "p.", "pzz.1", ""])

    def data(self, n):
        return bytes(self.rng.randrange(256) for _ in range(n))

    def command_payload(self):
        """A packet rrx understands, with random (often wrong) arguments."""
        r, h = self.rng, self.hexnum
        length = r.choice([0, 1, 4, 8, 64, 512, 0x10000])
        kind = r.randrange(24)
        if kind == 0:
            return "m%s,%s" % (h(), h())
        if kind == 1:
            return "x%s,%s" % (h(), h())
        if kind == 2:
            n = r.choice([0, 1, 8, 100])
            data = self.data(n).hex()
            if r.random() < 0.2:
                data = data[:-1] + "z" if data else "z"
            return "M%s,%x:%s" % (h(), r.choice([n, n + 1, length]), data)
        if kind == 3:
            n = r.choice([0, 1, 8, 100, 1000])
            data = self.data(n)
            body = escape(data) if r.random() < 0.8 else data.replace(b"#", b"").replace(b"$", b"")
            if r.random() < 0.1:
                body += b"}"  # an escape with nothing after it
            return b"X%s,%x:" % (h().encode(), r.choice([n, n - 1 if n else 0, length])) + body
        if kind == 4:
            return "g" + r.choice(["", ";thread:%s;" % self.thread()])
        if kind == 5:
            return "G" + self.data(r.choice([0, 8, 100, 560, 2000])).hex() + r.choice(
                ["", "0", ";thread:%s;" % self.thread()])
        if kind == 6:
            return "p%s" % r.choice([h(), "%x" % r.randrange(80), "-1"])
        if kind == 7:
            return "P%s=%s" % (r.choice([h(), "%x" % r.randrange(80)]),
                               self.data(r.choice([0, 4, 8, 10, 16, 512])).hex())
        if kind == 8:
            return "%s%s,%s,%s%s" % (r.choice("Zz"), r.choice("012345x"), h(), h(),
                                     r.choice(["", ";cond", ";X2,0a0b"]))
        if kind == 9:
            return "H%s%s" % (r.choice("gcxG"), self.thread())
        if kind == 10:
            return "T" + self.thread()
        if kind == 11:
            actions = ";".join(r.choice(["c", "s", "C%s" % h(), "S%s" % h(), "t", "r1,2", "x",
                                         ""]) + r.choice(["", ":" + self.thread()])
                               for _ in range(r.choice([0, 1, 2, 5])))
            return "vCont" + r.choice([";", "?", "", ";;"]) + actions
        if kind == 12:
            return "qXfer:%s:%s:%s:%s,%s" % (r.choice(XFER_OBJECTS), r.choice(["read", "write", ""]),
                                            r.choice(ANNEXES), h(), h())
        if kind == 13:
            return "qRcmd," + r.choice(MONITOR + [self.data(8).decode("latin-1")]).encode(
                "latin-1").hex() + r.choice(["", "0", "zz"])
        if kind == 14:
            return "qSupported" + r.choice(["", ":", ":multiprocess+;swbreak+;hwbreak+",
                                            ":xmlRegisters=i386", ":" + "x;" * 500])
        if kind == 15:
            return r.choice(["qThreadStopInfo", "qMemoryRegionInfo:"]) + h()
        if kind == 16:
            return r.choice(["QStartNoAckMode", "QThreadSuffixSupported", "QListThreadsInStopReply",
                             "QEnableErrorStrings", "QRRXDirection:reverse", "QRRXDirection:forward",
                             "qfThreadInfo", "qsThreadInfo", "qAttached", "qSymbol::", "qHostInfo",
                             "qProcessInfo", "qOffsets", "qTStatus", "jThreadsInfo", "?", "!",
                             "vMustReplyEmpty", "vCont?", "vFile:open:2f,0,0"])
        if kind == 17:
            return r.choice(["C", "S"]) + h() + r.choice(["", ";" + h()])
        if kind == 18:
            # gdb's run-length encoding: "X*n" repeats X; rrx does not
            # decode it, it must only survive it.
            return "m" + r.choice(["0* ", "f*\"", "1*~", "*", "**"]) + ",8" + r.choice(["", "*!"])
        if kind == 19:
            return r.choice(["b", "bx", "bcc", "bss"])
        if kind == 20:
            return "qRcmd," + "checkpoint".encode().hex()
        # One letter and random text.
        return bytes([r.choice(COMMANDS)]) + self.data(r.choice([0, 1, 10, 100])).replace(
            b"#", b"").replace(b"$", b"").replace(b"}", b"")

    def unit(self):
        """(bytes, resumes): one fuzzed unit of input."""
        r = self.rng
        kind = r.random()
        if kind < 0.02:
            payload = r.choice(RESUMES).encode()
            after = b"\x03" if r.random() < 0.5 else b""  # Ctrl-C while it runs
            return frame(payload) + after, True
        if kind < 0.10:
            return self.data(r.choice([1, 4, 30, 300])), False
        if kind < 0.14:
            payload = self.payload()
            wrong = (checksum(payload) + r.randrange(1, 256)) & 0xFF
            tail = r.choice([b"%02x" % wrong, b"zz", b"G", b"", b"#"])
            return b"$" + payload + b"#" + tail, False
        if kind < 0.16:
            size = r.choice([0x20000, 0x20001, 0x100000])
            body = b"A" * size
            return (frame(body) if r.random() < 0.5 else b"$" + body), False
        if kind < 0.20:
            return r.choice([b"\x03", b"+", b"-", b"+" * 20, b"-" * 3, b"\x03\x03", b"$\x03#00"]), False
        payload = self.payload()
        return frame(payload), False

    def payload(self):
        p = self.command_payload()
        return p if isinstance(p, bytes) else p.encode("latin-1")
