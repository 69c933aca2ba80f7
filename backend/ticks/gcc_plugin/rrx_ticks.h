// Pieces of the rrx soft-tick GCC plugin (see ../README.md). Include after
// gcc-plugin.h.
#ifndef RRX_TICKS_GCC_PLUGIN_RRX_TICKS_H
#define RRX_TICKS_GCC_PLUGIN_RRX_TICKS_H

#include <cstdio>

namespace gcc {
class context;
}
class opt_pass;

namespace rrx_ticks {

// The GIMPLE pass that puts the counting sequence before every conditional
// branch (GIMPLE_COND and GIMPLE_SWITCH).
opt_pass *make_instrument_pass(gcc::context *ctxt);

// Writes the hidden comdat constructor that maps the tick page to `out`.
void emit_page_ctor(FILE *out);

}  // namespace rrx_ticks

#endif
