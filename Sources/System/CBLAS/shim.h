/* OpenBLAS's cblas.h also declares openblas_set_num_threads: the tool runs independent trials in
   parallel, each with one BLAS thread. */
#include <cblas.h>
