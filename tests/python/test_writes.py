"""The write queries, checked against write_target.c, whose globals are
written at known lines: counter 100 times by bump(), target once by main()
and last by corrupt()."""
import rrx

from conftest import marked_line, program, source_line, to_int


def test_writes_sees_every_store_with_old_and_new_values(replay):
    counter = replay.symbol("counter")
    writes = list(replay.writes(counter, 4))
    assert len(writes) == 100
    assert [to_int(w.old) for w in writes] == list(range(0, 100))
    assert [to_int(w.new) for w in writes] == list(range(1, 101))
    line = marked_line("write_target.c", "WRITE counter")
    exe = program("write_target")
    for w in writes:
        assert replay.function_at(w.pc) == "bump"
        assert source_line(replay, exe, w.pc) == ("write_target.c", line)
    # They come in execution order: the tick count grows with every one.
    assert all(a.ticks < b.ticks for a, b in zip(writes, writes[1:]))


def test_writes_stops_at_the_end_event(replay):
    # Up to the event the process starts at, nothing writes counter.
    assert list(replay.writes("counter", 4, end=replay.when())) == []


def test_writes_from_a_start_event_goes_there_first(replay):
    replay.cont()  # to the end
    writes = list(replay.writes("counter", 4, start=0))
    assert len(writes) == 100


def test_last_write_after_the_end_finds_the_corrupting_store(replay):
    assert replay.cont().reason == "end"
    target = replay.symbol("target")
    w = replay.last_write(target, 8)
    assert w is not None
    assert to_int(w.old) == 1 and to_int(w.new) == 0xdead
    assert replay.function_at(w.pc) == "corrupt"
    assert source_line(replay, program("write_target"), w.pc) == (
        "write_target.c", marked_line("write_target.c", "WRITE corrupt"))
    # The replay is left at the writing instruction, not yet executed.
    assert replay.pc == w.pc
    assert to_int(replay.read(target, 8)) == 1
    assert replay.step().reason == "step"
    assert to_int(replay.read(target, 8)) == 0xdead


def test_last_write_walks_further_back(replay):
    replay.cont()
    replay.last_write("target", 8)
    earlier = replay.last_write("target", 8)
    assert to_int(earlier.old) == 0 and to_int(earlier.new) == 1
    assert replay.function_at(earlier.pc) == "main"
    assert source_line(replay, program("write_target"), earlier.pc) == (
        "write_target.c", marked_line("write_target.c", "WRITE main"))
    # target starts zeroed in .bss: no earlier write; the replay stays put.
    pc, event = replay.pc, replay.when()
    assert replay.last_write("target", 8) is None
    assert (replay.pc, replay.when()) == (pc, event)


def test_last_write_of_counter_is_its_hundredth(replay):
    replay.cont()
    w = replay.last_write("counter", 4)
    assert (to_int(w.old), to_int(w.new)) == (99, 100)
    assert replay.function_at(w.pc) == "bump"


def test_write_of_another_thread(threads_trace):
    with rrx.Replay(threads_trace) as r:
        root = r.thread
        assert r.cont().reason == "end"
        worker = to_int(r.read("worker_tid", 4))
        assert worker != root
        w = r.last_write("shared", 4)
        assert w.thread == worker
        assert to_int(w.new) == 42
        assert r.function_at(w.pc) == "worker"
        assert source_line(r, program("threads_write"), w.pc) == (
            "threads_write.c", marked_line("threads_write.c", "WRITE worker"))
        writes = list(r.writes("shared", 4, start=0))
        assert [(w.thread, to_int(w.new)) for w in writes] == [(root, 1), (worker, 42)]


def test_last_write_right_before_a_breakpoint(replay):
    # Stopped at a breakpoint on the instruction right after a store, that
    # store is the last write (the watchpoint would trap exactly here).
    first = next(replay.writes("counter", 4))
    after_store = replay.pc
    replay.seek(0)
    replay.break_at(after_store)
    stop = replay.cont()
    assert (stop.reason, stop.pc) == ("breakpoint", after_store)
    w = replay.last_write("counter", 4)
    assert (to_int(w.old), to_int(w.new), w.pc) == (0, 1, first.pc)
    assert replay.pc == first.pc


def test_last_write_inside_a_writes_loop(replay):
    for w in replay.writes("counter", 4):
        if to_int(w.new) == 50:
            break
    back = replay.last_write("counter", 4)
    assert (to_int(back.old), to_int(back.new), back.pc) == (49, 50, w.pc)


def test_a_store_by_the_kernel_is_a_write(trace_root):
    trace = rrx.record([program("kernel_write")], trace_dir=trace_root / "kernel_write")
    with rrx.Replay(trace) as r:
        [w] = list(r.writes("from_kernel", 8))
        assert w.old == bytes(8) and w.new == r.read("from_kernel", 8) != bytes(8)
        r.cont()
        back = r.last_write("from_kernel", 8)
        assert (back.old, back.new) == (w.old, w.new)
