# Run inside gdb (gdb -batch -nx -x bench.py) with these convenience
# settings made by run.sh through -ex before it:
#   python RRX_PLUGIN, RRX_TRACE, RRX_SRC, RRX_LINE_BODY, RRX_LINE_AFTER,
#          RRX_REPS, RRX_ITERATIONS
# Times reverse-stepi, reverse-next and reverse-continue (to a breakpoint in
# the loop's last iteration) from the line after the loop, each RRX_REPS
# times from the same position, and prints one "RESULT name median min max"
# line per command (seconds).
import statistics
import time

import gdb



def run(command):
    return gdb.execute(command, to_string=True)


def timed(command):
    start = time.monotonic()
    out = run(command)
    t = time.monotonic() - start
    gdb.write("SAMPLE\t%s\t%.3f\n" % (command, t))  # progress, for long runs
    gdb.flush()
    return t, out


def frame_line():
    return gdb.selected_frame().find_sal().line


def check(cond, message):
    if not cond:
        gdb.write("BENCH-ERROR: %s\n" % message)
        gdb.execute("quit 1")


gdb.execute("source " + RRX_PLUGIN)
run("rr-replay " + RRX_TRACE)
after = gdb.Breakpoint("%s:%d" % (RRX_SRC, RRX_LINE_AFTER))
body = gdb.Breakpoint("%s:%d" % (RRX_SRC, RRX_LINE_BODY))
body.enabled = False

start = time.monotonic()
run("continue")
forward = time.monotonic() - start
check(frame_line() == RRX_LINE_AFTER, "continue did not stop after the loop")
pc_after = int(gdb.parse_and_eval("$pc"))

results = {"continue (forward, whole loop)": [forward]}


def back_to_after():
    """Forward again to the breakpoint after the loop."""
    if int(gdb.parse_and_eval("$pc")) != pc_after:
        run("continue")
    check(int(gdb.parse_and_eval("$pc")) == pc_after, "not back after the loop")


for rep in range(RRX_REPS):
    t, _ = timed("reverse-stepi")
    check(int(gdb.parse_and_eval("$pc")) != pc_after, "reverse-stepi did not move")
    results.setdefault("reverse-stepi", []).append(t)
    run("stepi")
    back_to_after()

    t, _ = timed("reverse-next")
    check(frame_line() != RRX_LINE_AFTER, "reverse-next did not move")
    results.setdefault("reverse-next", []).append(t)
    back_to_after()

    body.enabled = True
    t, _ = timed("reverse-continue")
    body.enabled = False
    check(frame_line() == RRX_LINE_BODY, "reverse-continue did not stop in the loop")
    i = int(gdb.parse_and_eval("i"))
    check(i == RRX_ITERATIONS - 1, "reverse-continue stopped at i=%d, not the last iteration" % i)
    results.setdefault("reverse-continue to last iteration", []).append(t)
    back_to_after()

for name, times in results.items():
    gdb.write("RESULT\t%s\t%.3f\t%.3f\t%.3f\t%d\n" % (name, statistics.median(times), min(times), max(times), len(times)))
