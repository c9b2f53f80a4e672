#include <cmark.h>
static const int MEDPFL_CMARK_OPT_DEFAULT = CMARK_OPT_DEFAULT;
static const int MEDPFL_CMARK_OPT_UNSAFE = CMARK_OPT_UNSAFE;
