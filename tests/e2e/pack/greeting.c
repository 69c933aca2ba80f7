// The library of greet.c: `rrx pack` must copy it into the trace.
const char* greeting(void) { return "hello from a library the trace must keep"; }
