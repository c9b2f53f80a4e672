/* C interfaces of the tensor engine: OpenBLAS (its cblas.h also declares openblas_set_num_threads: the
   tool runs independent trials in parallel, each with one BLAS thread) and glibc's malloc tuning. */
#include <cblas.h>
#include <malloc.h>
