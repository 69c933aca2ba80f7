"""Running a replay from a script: breakpoints both ways, watchpoints,
stepping, seeking, checkpoints, registers and memory, on write_target.c."""
import rrx

from conftest import to_int


def test_starts_at_the_first_instruction_of_the_process(replay):
    assert replay.when() > 0
    assert replay.thread == rrx.Trace(replay_trace_path(replay)).processes[0].pid


def replay_trace_path(replay):
    # executable is <trace>/files/<name>
    return replay.executable.rsplit("/files/", 1)[0]


def test_breakpoint_forwards_then_reverse_cont_from_the_end(replay):
    bump = replay.symbol("bump")
    bp = replay.break_at("bump")
    stop = replay.cont()
    assert (stop.reason, stop.pc) == ("breakpoint", bump)
    assert to_int(replay.read("counter", 4)) == 0
    assert replay.cont().reason == "breakpoint"
    assert to_int(replay.read("counter", 4)) == 1
    assert replay.seek(10**9).reason == "end"
    stop = replay.reverse_cont()
    assert (stop.reason, stop.pc) == ("breakpoint", bump)
    assert to_int(replay.read("counter", 4)) == 99  # the 100th call, before its store
    assert replay.reverse_cont().reason == "breakpoint"
    assert to_int(replay.read("counter", 4)) == 98
    replay.delete(bp)
    assert replay.cont().reason == "end"


def test_watchpoint_stops_after_each_store(replay):
    counter = replay.symbol("counter")
    replay.watch(counter, 4, kind="write")
    for expected in (1, 2, 3):
        stop = replay.cont()
        assert (stop.reason, stop.address) == ("watchpoint", counter)
        assert to_int(replay.read(counter, 4)) == expected
    # Backwards from just after the third store, the previous hit is the
    # second: the stop is at its store, not yet executed.
    stop = replay.reverse_cont()
    assert stop.reason == "watchpoint"
    assert replay.function_at(stop.pc) == "bump"
    assert to_int(replay.read(counter, 4)) == 1
    replay.step()
    assert to_int(replay.read(counter, 4)) == 2


def test_step_and_reverse_step_are_inverse(replay):
    replay.break_at("corrupt")
    replay.cont()
    before = replay.registers()
    assert before["rip"] == replay.pc == replay.symbol("corrupt")
    assert replay.step().reason == "step"
    assert replay.pc != before["rip"]
    stop = replay.reverse_step()
    assert stop.reason == "step"
    assert replay.registers() == before


def test_reverse_cont_without_hits_reaches_the_start(replay):
    replay.cont()
    assert replay.reverse_cont().reason == "start"


def test_seek_forwards_and_backwards(replay):
    start = replay.when()
    # (At an event inside a syscall the thread cannot be looked at: seek
    # goes on to the next event then.)
    stop = replay.seek(start + 10)
    assert stop.reason == "event"
    assert stop.event == replay.when() and start + 10 <= stop.event <= start + 11
    assert replay.pc != 0
    stop = replay.seek(start + 3)
    assert stop.reason == "event"
    assert start + 3 <= replay.when() <= start + 4
    assert replay.seek(0).reason == "start"
    assert replay.when() == start


def test_checkpoint_and_restart(replay):
    replay.break_at("bump")
    for _ in range(5):
        replay.cont()
    cp = replay.checkpoint()
    here = (replay.pc, replay.when(), replay.ticks(), replay.read("counter", 4))
    replay.cont()
    replay.cont()
    assert to_int(replay.read("counter", 4)) == 6
    replay.restart(cp)
    assert (replay.pc, replay.when(), replay.ticks(), replay.read("counter", 4)) == here
    # Forwards again from there: the same history.
    replay.cont()
    assert to_int(replay.read("counter", 4)) == 5


def test_ticks_grow_with_the_program(replay):
    replay.break_at("bump")
    replay.cont()
    first = replay.ticks()
    replay.cont()
    assert replay.ticks() > first > 0


def test_symbols_of_libraries(replay):
    replay.break_at("main")
    replay.cont()  # libc is loaded by now
    printf = replay.symbol("printf")
    assert printf != 0
    # libc names printf's code with aliases too (_IO_printf): any will do.
    assert replay.symbol(replay.function_at(printf)) == printf
    assert replay.function_at(replay.symbol("bump") + 1) == "bump"
