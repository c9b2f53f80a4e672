// JPEG (libjpeg-turbo) and TIFF (libtiff) decoding for medpfl, with errors as return codes: libjpeg reports them
// by longjmp and libtiff through handlers, neither of which Swift can catch, and both would print to stderr.
#ifndef MEDPFL_RASTERCODECS_H
#define MEDPFL_RASTERCODECS_H
#include <stddef.h>
#include <stdint.h>

/// A decoded raster: width x height pixels of `channels` interleaved samples (1 gray, 3 RGB), each 8 or 16 bits
/// (`bits`), 16-bit samples in host byte order. `samples` is malloc'ed; free it with free().
typedef struct {
    int width, height, channels, bits;
    /// Pages (TIFF directories) in the file; 1 for JPEG.
    int pages;
    void *samples;
} medpfl_raster;

/// Decodes JPEG bytes (baseline, progressive; gray, YCbCr or RGB; CMYK is refused). 0 on success, else an
/// error message in err.
int medpfl_jpeg_decode(const uint8_t *data, size_t size, medpfl_raster *out, char *err, size_t errlen);

/// Decodes page `page` (0-based) of the TIFF file at `path`: 8- or 16-bit unsigned gray (min-is-black or
/// min-is-white, inverted) or RGB, strips or tiles, any compression libtiff handles; other layouts (palette,
/// 1-bit, YCbCr, CMYK) through libtiff's RGBA interface at 8 bits. 0 on success, else a message in err.
int medpfl_tiff_decode(const char *path, int page, medpfl_raster *out, char *err, size_t errlen);

/// The first volume of a NIfTI-1 or NIfTI-2 file (`.nii`, `.nii.gz`, or a `.hdr`/`.img` pair) read by Debian's
/// nifticlib (libnifti2): nx x ny x nz voxels as doubles (x fastest), before scl_slope/scl_inter.
typedef struct {
    int64_t nx, ny, nz, volumes;
    /// 1 for NIfTI-1, 2 for NIfTI-2 (0 for ANALYZE 7.5).
    int nifti_version;
    int datatype;
    double slope, intercept, cal_min, cal_max;
    double *values;
} medpfl_volume;

/// Reads the first volume (at most `max_bytes` of voxel data in the whole file) of a NIfTI file. 0 on success,
/// else a message in err. Free `values` with free().
int medpfl_nifti_read(const char *path, int64_t max_bytes, medpfl_volume *out, char *err, size_t errlen);

#endif
