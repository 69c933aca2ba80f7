/* The sample functions of instrument_samples.c. */
#ifndef RRX_TESTS_UNIT_INSTRUMENT_SAMPLES_H
#define RRX_TESTS_UNIT_INSTRUMENT_SAMPLES_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct sample_results {
  long sum, collatz, sw, cmp;
  uint64_t longb, adc;
  long three, riprel, flag_free;
};

void sample_run_all(struct sample_results *r);

/* Bounds of the section holding every sample (linker-defined). */
extern const char __start_rrx_samples[], __stop_rrx_samples[];

#ifdef __cplusplus
}
#endif

#endif
