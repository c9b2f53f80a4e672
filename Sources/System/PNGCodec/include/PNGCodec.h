#ifndef MEDPFL_PNGCODEC_H
#define MEDPFL_PNGCODEC_H
#include <stddef.h>
#include <stdint.h>
/* Decodes a PNG held in memory. On success returns 0 and sets *pixels (malloc'ed, caller frees) to
   width*height*channels samples, each 0...(2^bitdepth - 1) (bitdepth 8 or 16, palette and low-bit gray
   expanded, tRNS turned into alpha, 16-bit samples in host byte order). channels: 1 gray, 2 gray+alpha,
   3 RGB, 4 RGBA. Truncated or corrupt data is reported as an error, never a crash.
   On failure returns non-zero and writes a message into err. */
int medpfl_png_decode(const uint8_t *data, size_t size, int *width, int *height, int *channels,
                      int *bitdepth, uint16_t **pixels, char *err, size_t errlen);
/* Encodes 8-bit samples (channels 1, 3 or 4) to PNG bytes in memory: on success returns 0 and sets *out
   (malloc'ed, caller frees) and *outlen. Nothing touches the file system (patient images never pass
   through a temporary file). Returns non-zero with a message in err otherwise. */
int medpfl_png_encode(const uint8_t *pixels, int width, int height, int channels, uint8_t **out, size_t *outlen,
                      char *err, size_t errlen);
/* As medpfl_png_encode, for 16-bit samples in host byte order (channels 1 or 3): a 16-bit gray PNG keeps a
   windowed DICOM image's levels. */
int medpfl_png_encode16(const uint16_t *pixels, int width, int height, int channels, uint8_t **out, size_t *outlen,
                        char *err, size_t errlen);
#endif
