// The GIMPLE pass: before every conditional branch, count one tick and trap
// when the count reaches the target (tick_page.h documents the sequence).
//
// For a block ending in a GIMPLE_COND or GIMPLE_SWITCH, say
//
//     bb:   labels; stmts...; if (x) goto T; else goto F;
//
// the pass produces
//
//     bb:   labels; stmts...; asm goto (RRX_TICK_ASM_COUNT ... : trap);
//     cond: if (x) goto T; else goto F;     <- fall through from bb
//     trap: asm (RRX_TICK_ASM_TRAP);        <- never-executed, cold
//           goto cond;
//
// Labels stay in bb, so every path into the branch counts. The trap block is
// placed last in the function (laid out out of line even at -O0) and gets a
// zero profile so -freorder-blocks-and-partition moves it to .text.unlikely.
#include "gcc-plugin.h"
#include "tree.h"
#include "tree-pass.h"
#include "context.h"
#include "function.h"
#include "basic-block.h"
#include "cfghooks.h"
#include "cfgloop.h"
#include "gimple.h"
#include "gimple-iterator.h"
#include "ssa.h"
#include "tree-cfg.h"
#include "cgraph.h"

#include "../tick_page.h"
#include "rrx_ticks.h"

namespace {

const pass_data kPassData = {
    GIMPLE_PASS,
    "rrx_ticks",        // name (for -fdump-tree-rrx_ticks)
    OPTGROUP_NONE,
    TV_NONE,
    PROP_cfg | PROP_ssa,  // properties_required
    0,                    // properties_provided
    0,                    // properties_destroyed
    0,                    // todo_flags_start
    0,                    // todo_flags_finish
};

tree asm_string_list(const char *s) {
  return build_tree_list(NULL_TREE, build_string(strlen(s), s));
}

// asm goto (RRX_TICK_ASM_COUNT : : : "cc" : trap_label)
gasm *build_count_asm(tree trap_label) {
  vec<tree, va_gc> *clobbers = nullptr, *labels = nullptr;
  vec_safe_push(clobbers, asm_string_list("cc"));
  vec_safe_push(labels, build_tree_list(NULL_TREE, trap_label));
  gasm *stmt = gimple_build_asm_vec(RRX_TICK_ASM_COUNT, nullptr, nullptr,
                                    clobbers, labels);
  gimple_asm_set_volatile(stmt, true);
  return stmt;
}

gasm *build_trap_asm() {
  gasm *stmt =
      gimple_build_asm_vec(RRX_TICK_ASM_TRAP, nullptr, nullptr, nullptr,
                           nullptr);
  gimple_asm_set_volatile(stmt, true);
  return stmt;
}

void instrument_branch(basic_block bb) {
  gimple *branch = last_stmt(bb);
  location_t loc = gimple_location(branch);

  // Move the branch alone into a new block; bb keeps labels and the rest.
  gimple_stmt_iterator gsi = gsi_for_stmt(branch);
  gsi_prev_nondebug(&gsi);
  edge fallthru = gsi_end_p(gsi) || gimple_code(gsi_stmt(gsi)) == GIMPLE_LABEL
                      ? split_block_after_labels(bb)
                      : split_block(bb, gsi_stmt(gsi));
  basic_block cond = fallthru->dest;

  basic_block trap = create_empty_bb(EXIT_BLOCK_PTR_FOR_FN(cfun)->prev_bb);
  trap->count = profile_count::zero();
  if (current_loops)
    add_bb_to_loop(trap, bb->loop_father);
  tree trap_label = gimple_block_label(trap);

  gasm *count = build_count_asm(trap_label);
  gimple_set_location(count, loc);
  gsi = gsi_last_bb(bb);
  gsi_insert_after(&gsi, count, GSI_NEW_STMT);

  gasm *trap_asm = build_trap_asm();
  gimple_set_location(trap_asm, loc);
  gsi = gsi_last_bb(trap);
  gsi_insert_after(&gsi, trap_asm, GSI_NEW_STMT);

  edge to_trap = make_edge(bb, trap, 0);
  to_trap->probability = profile_probability::never();
  fallthru->probability = profile_probability::always();
  edge back = make_edge(trap, cond, EDGE_FALLTHRU);
  back->probability = profile_probability::always();
}

// IFUNC resolvers run while the dynamic linker relocates, before any
// constructor could map the tick page, so they must not touch it. This
// covers `__attribute__((ifunc("f")))` and the resolvers GCC generates for
// target_clones / function multiversioning (see README: helpers they call
// are still instrumented).
bool is_ifunc_resolver(cgraph_node *node) {
  if (!node)
    return false;
  if (node->ifunc_resolver)
    return true;
  ipa_ref *ref;
  FOR_EACH_ALIAS(node, ref) {
    if (ref->referring->ifunc_resolver)
      return true;
  }
  return false;
}

class InstrumentPass : public gimple_opt_pass {
 public:
  explicit InstrumentPass(gcc::context *ctxt)
      : gimple_opt_pass(kPassData, ctxt) {}

  bool gate(function *fun) override {
    return !is_ifunc_resolver(cgraph_node::get(fun->decl));
  }

  unsigned int execute(function *fun) override {
    // Collect first: instrumenting adds blocks.
    auto_vec<basic_block> branches;
    basic_block bb;
    FOR_EACH_BB_FN(bb, fun) {
      gimple *last = last_stmt(bb);
      if (last && (gimple_code(last) == GIMPLE_COND ||
                   gimple_code(last) == GIMPLE_SWITCH))
        branches.safe_push(bb);
    }
    for (basic_block b : branches)
      instrument_branch(b);
    if (!branches.is_empty())
      free_dominance_info(CDI_DOMINATORS);
    return 0;
  }
};

}  // namespace

opt_pass *rrx_ticks::make_instrument_pass(gcc::context *ctxt) {
  return new InstrumentPass(ctxt);
}
