# rrx gdb plugin: `source` this file (or let `rrx replay` do it) to get
#   rr-replay [-p PID|NAME] [-g EVENT] [TRACE]   debug a replay of TRACE
#   when, when-end, when-ticks, when-tid          where the replay is
#   elapsed-time                                  the recording's time here
#   seek-ticks N                                  go to tick N
#   checkpoint, info checkpoints, delete checkpoint N, restart N
#   last-write EXPR                               back to the write that last changed EXPR
#   spin-off [--live]                             copy the process here into one of its own
#   (`monitor help` lists the backend's commands)
# Reverse execution (reverse-continue, reverse-step, reverse-next,
# reverse-finish, reverse-stepi, watchpoints backwards) is gdb's own,
# served by the rrx backend.
import os
import shlex
import shutil
import subprocess

import gdb


# Filled in by the build: the rrx next to this copy of the plugin.
_BUILT_RRX = "@RRX_BINARY@"


def _rrx_binary():
    """The rrx to run: $RRX_BIN, then the one this plugin was built or
    installed with, then PATH."""
    env = os.environ.get("RRX_BIN")
    if env:
        return env
    if os.access(_BUILT_RRX, os.X_OK):
        return _BUILT_RRX
    return shutil.which("rrx") or "rrx"


def _monitor(command):
    """Runs a backend command; its output goes straight to the user. A
    refused command has already said why, so gdb's generic "Protocol error
    with Rcmd" is not repeated. Returns whether it succeeded."""
    try:
        gdb.execute("monitor " + command)
        return True
    except gdb.error as error:
        if "Rcmd" not in str(error):
            raise gdb.GdbError(str(error))
        return False


class RrReplay(gdb.Command):
    """Debug a replay of an rrx trace: rr-replay [-p PID|NAME] [-g EVENT] [TRACE].

TRACE defaults to the latest recording. -p picks a process of a
multi-process trace (a recorded pid or a program name); -g starts at an
event number. The replay runs in an rrx backend that talks to gdb over a
private pipe; reverse-continue, reverse-step and the other reverse
commands work, as do `when`, `checkpoint` and `restart`."""

    def __init__(self):
        super().__init__("rr-replay", gdb.COMMAND_RUNNING, gdb.COMPLETE_FILENAME)

    def invoke(self, arg, from_tty):
        args = gdb.string_to_argv(arg)
        rrx = _rrx_binary()
        info = subprocess.run([rrx, "replay", "--info-exe"] + args,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if info.returncode != 0:
            message = info.stderr.strip() or "rrx replay --info-exe failed"
            raise gdb.GdbError(message)
        exe = info.stdout.strip()
        gdb.execute("set sysroot /", to_string=True)
        gdb.execute("file " + shlex.quote(exe), to_string=not from_tty)
        command = " ".join(shlex.quote(a) for a in [rrx, "replay", "--stdio"] + args)
        gdb.execute("target extended-remote | " + command, from_tty=from_tty)


class MonitorCommand(gdb.Command):
    """Base for commands that are rrx backend `monitor` commands."""

    def __init__(self, name, monitor_name=None, category=gdb.COMMAND_STATUS):
        super().__init__(name, category)
        self._monitor_name = monitor_name or name

    def invoke(self, arg, from_tty):
        _monitor((self._monitor_name + " " + arg).strip())


class When(MonitorCommand):
    """Print the number of the current replay event."""

    def __init__(self):
        super().__init__("when")


class WhenTicks(MonitorCommand):
    """Print the tick count of the current thread (progress within an event)."""

    def __init__(self):
        super().__init__("when-ticks")


class WhenTid(MonitorCommand):
    """Print the recorded tid of the current thread."""

    def __init__(self):
        super().__init__("when-tid")


class Checkpoint(MonitorCommand):
    """Save the current replay state; `restart N` returns to it.

Replaces gdb's own checkpoint, which cannot work on a remote target."""

    def __init__(self):
        super().__init__("checkpoint", category=gdb.COMMAND_RUNNING)


class InfoCheckpoints(MonitorCommand):
    """List the checkpoints made with `checkpoint`."""

    def __init__(self):
        super().__init__("info checkpoints", "info checkpoints")


class DeleteCheckpoint(MonitorCommand):
    """Delete checkpoint N: delete checkpoint N."""

    def __init__(self):
        super().__init__("delete checkpoint", "delete checkpoint", gdb.COMMAND_RUNNING)


class WhenEnd(MonitorCommand):
    """Show the number of the trace's last event."""

    def __init__(self):
        super().__init__("when-end")


class ElapsedTime(MonitorCommand):
    """Show the recording's time at the current event: seconds since it started."""

    def __init__(self):
        super().__init__("elapsed-time")


def _jump(command, from_tty):
    """Runs a monitor command that moves the replay, then shows the frame."""
    if not _monitor(command):
        return
    # The backend moved without gdb resuming: drop what gdb cached.
    gdb.execute("maintenance flush register-cache", to_string=True)
    gdb.execute("maintenance flush dcache", to_string=True)
    gdb.execute("frame", from_tty=from_tty)


class Restart(gdb.Command):
    """Return the replay to checkpoint N: restart N."""

    def __init__(self):
        super().__init__("restart", gdb.COMMAND_RUNNING)

    def invoke(self, arg, from_tty):
        if not arg.strip():
            raise gdb.GdbError("usage: restart N (see `info checkpoints`)")
        _jump("restart " + arg.strip(), from_tty)


class SeekTicks(gdb.Command):
    """Move the replay to where the debugged process's tick count is N: seek-ticks N."""

    def __init__(self):
        super().__init__("seek-ticks", gdb.COMMAND_RUNNING)

    def invoke(self, arg, from_tty):
        if not arg.strip():
            raise gdb.GdbError("usage: seek-ticks N (see `when-ticks`)")
        _jump("seek-ticks " + arg.strip(), from_tty)


class LastWrite(gdb.Command):
    """Go back to the write that last changed an lvalue: last-write EXPR.

Runs backwards, with a hardware watchpoint on the location EXPR names now,
to the instruction that last changed it, and stops on that instruction (not
yet executed). Prints the value before and after that write and the source
line. Repeat it to walk further back through the writes."""

    def __init__(self):
        super().__init__("last-write", gdb.COMMAND_RUNNING, gdb.COMPLETE_EXPRESSION)

    def invoke(self, arg, from_tty):
        expr = arg.strip()
        if not expr:
            raise gdb.GdbError("usage: last-write EXPR (a variable, field, array element, *pointer)")
        value = gdb.parse_and_eval(expr)
        if value.address is None:
            raise gdb.GdbError("last-write: '%s' is not an lvalue: it has no location" % expr)
        # The location, not the expression: the write may be in a frame
        # where EXPR means something else or nothing.
        location = "*(%s) %d" % (value.type.pointer(), int(value.address))
        new = str(value)
        inferior = gdb.selected_inferior()
        now = bytes(inferior.read_memory(value.address, value.type.sizeof))
        # reverse-continue does not count a watchpoint trap at the point it
        # starts from: a change by the instruction just before now would be
        # missed when now is right after it (a breakpoint on the next line).
        # Step back over that instruction first and see.
        gdb.execute("reverse-stepi", to_string=True)
        found = bytes(inferior.read_memory(value.address, value.type.sizeof)) != now
        if not found:
            watch = gdb.Breakpoint(location, gdb.BP_WATCHPOINT, gdb.WP_WRITE, internal=True)
            watch.silent = True  # its backwards "Old"/"New" would be swapped; ours follow
            try:
                gdb.execute("reverse-continue", to_string=True)
                found = watch.hit_count > 0  # else the start of the recording stopped it
            finally:
                watch.delete()
        if not found:
            raise gdb.GdbError("last-write: nothing changed %s before this point of the recording" % expr)
        old = str(gdb.parse_and_eval(location))
        gdb.write("last-write: %s\nOld value = %s\nNew value = %s\n" % (expr, old, new))
        gdb.execute("frame", from_tty=from_tty)


class SpinOff(MonitorCommand):
    """Copy the debugged process, as it is here, into a process of its own,
left stopped by SIGSTOP for another tool to attach: spin-off [--live].
Prints its pid and its state as JSON; --live makes its syscalls run for
real and opens its files again (docs/spin-off.md). The replay stays here."""

    def __init__(self):
        super().__init__("spin-off", category=gdb.COMMAND_RUNNING)


RrReplay()
When()
WhenTicks()
WhenTid()
WhenEnd()
ElapsedTime()
SeekTicks()
Checkpoint()
InfoCheckpoints()
DeleteCheckpoint()
Restart()
LastWrite()
SpinOff()
