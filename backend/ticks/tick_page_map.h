/* Maps the tick page if it is absent (tick_page.h, "Who maps it"). */
#ifndef RRX_TICKS_TICK_PAGE_MAP_H
#define RRX_TICKS_TICK_PAGE_MAP_H

#ifdef __cplusplus
extern "C" {
#endif

/* Returns 1 if this call mapped and initialised the page, 0 if it was
   already mapped (by the recorder, or earlier) or could not be mapped. */
int rrx_tick_page_map(void);

#ifdef __cplusplus
}
#endif

#endif
