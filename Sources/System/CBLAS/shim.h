/* C interfaces of the tensor engine: OpenBLAS (its cblas.h also declares openblas_set_num_threads: the
   tool runs independent trials in parallel, each with one BLAS thread) and glibc's malloc tuning. */
#include <cblas.h>
#include <malloc.h>

/* A spin-wait hint for the op threads' spinning helpers (x86 PAUSE, AArch64 YIELD): lets a sibling hardware
   thread run while a helper waits for the next op. */
static inline void medpfl_cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}
