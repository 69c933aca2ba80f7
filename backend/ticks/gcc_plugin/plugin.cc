// Entry point of rrx_ticks_gcc.so: checks the GCC version, registers the
// instrumentation pass and the per-unit tick page constructor.
#include "gcc-plugin.h"
#include "plugin-version.h"
#include "context.h"
#include "tree-pass.h"
#include "output.h"

#include "rrx_ticks.h"

// GCC refuses to load plugins without this symbol. rrx is MIT licensed,
// which is GPL compatible.
int plugin_is_GPL_compatible;

namespace {

void finish_unit(void *, void *) {
  // After all functions, before the target's file_end: the last moment GCC
  // lets plugins write to the assembly output.
  if (asm_out_file)
    rrx_ticks::emit_page_ctor(asm_out_file);
}

}  // namespace

int plugin_init(struct plugin_name_args *info,
                struct plugin_gcc_version *version) {
  if (!plugin_default_version_check(version, &gcc_version)) {
    fprintf(stderr, "%s: built for GCC %s, loaded by GCC %s\n",
            info->base_name, gcc_version.basever, version->basever);
    return 1;
  }
  if (!TARGET_64BIT) {
    fprintf(stderr, "%s: only x86-64 code can be instrumented\n",
            info->base_name);
    return 1;
  }

  // Last GIMPLE pass: every optimisation that creates, removes or duplicates
  // branches at the GIMPLE level (unswitching, jump threading, switch
  // lowering, if-conversion, vectoriser versioning...) has run, so the
  // branches we count are those that reach the RTL expander.
  struct register_pass_info pass;
  pass.pass = rrx_ticks::make_instrument_pass(g);
  pass.reference_pass_name = "optimized";
  pass.ref_pass_instance_number = 1;
  pass.pos_op = PASS_POS_INSERT_AFTER;
  register_callback(info->base_name, PLUGIN_PASS_MANAGER_SETUP, nullptr,
                    &pass);
  register_callback(info->base_name, PLUGIN_FINISH_UNIT, finish_unit, nullptr);
  return 0;
}
