#include "RasterCodecs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nifti2_io.h>
#include <zlib.h>

/* The format from the header's first field, sizeof_hdr: 348 (NIfTI-1 or ANALYZE), 540 (NIfTI-2), either byte order;
   zlib reads .nii and .nii.gz alike. */
static int header_version(const char *path) {
    gzFile f = gzopen(path, "rb");
    if (!f) return 0;
    unsigned char b[4];
    int n = gzread(f, b, 4);
    gzclose(f);
    if (n != 4) return 0;
    uint32_t le = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
    uint32_t be = (uint32_t)b[3] | (uint32_t)b[2] << 8 | (uint32_t)b[1] << 16 | (uint32_t)b[0] << 24;
    if (le == 540 || be == 540) return 2;
    if (le == 348 || be == 348) return 1;
    return 0;
}

int medpfl_nifti_read(const char *path, int64_t max_bytes, medpfl_volume *out, char *err, size_t errlen) {
    memset(out, 0, sizeof *out);
    nifti_set_debug_level(0); /* nifticlib prints its diagnostics to stderr otherwise */
    nifti_image *nim = nifti_image_read(path, 0);
    if (!nim) { snprintf(err, errlen, "not a readable NIfTI header"); return 1; }
    int64_t nx = nim->nx > 0 ? nim->nx : 1, ny = nim->ny > 0 ? nim->ny : 1, nz = nim->nz > 0 ? nim->nz : 1;
    int ndim = (int)nim->dim[0];
    if (ndim < 2 || ndim > 7 || nim->nx < 1 || nim->ny < 1 || nim->nvox < 1) {
        snprintf(err, errlen, "the header gives %d dimensions of %lld x %lld voxels", ndim, (long long)nim->nx, (long long)nim->ny);
        nifti_image_free(nim); return 1;
    }
    if (nx > 16384 || ny > 16384 || nz > 65536) {
        snprintf(err, errlen, "a %lld x %lld x %lld volume is larger than medpfl reads", (long long)nx, (long long)ny, (long long)nz);
        nifti_image_free(nim); return 1;
    }
    if (nx * ny * nz > ((int64_t)1 << 28)) {
        snprintf(err, errlen, "a %lld x %lld x %lld volume is more than the 2^28 voxels medpfl reads", (long long)nx, (long long)ny, (long long)nz);
        nifti_image_free(nim); return 1;
    }
    if (nim->nbyper < 1 || nim->nvox > max_bytes / nim->nbyper) {
        snprintf(err, errlen, "the voxel data (%lld voxels of %d bytes) is more than medpfl reads", (long long)nim->nvox, nim->nbyper);
        nifti_image_free(nim); return 1;
    }
    switch (nim->datatype) {
    case DT_UINT8: case DT_INT8: case DT_INT16: case DT_UINT16: case DT_INT32: case DT_UINT32:
    case DT_INT64: case DT_UINT64: case DT_FLOAT32: case DT_FLOAT64: break;
    default:
        snprintf(err, errlen, "voxel datatype %s (%d) is not read (integers and real floats are)",
                 nifti_datatype_string(nim->datatype), nim->datatype);
        nifti_image_free(nim); return 1;
    }
    if (nifti_image_load(nim) < 0 || !nim->data) {
        snprintf(err, errlen, "the voxel data could not be read (truncated or damaged)");
        nifti_image_free(nim); return 1;
    }
    int64_t n = nx * ny * nz;
    double *v = malloc((size_t)n * sizeof(double));
    if (!v) { snprintf(err, errlen, "out of memory"); nifti_image_free(nim); return 1; }
    const void *d = nim->data;
    for (int64_t i = 0; i < n; i++) {
        switch (nim->datatype) {
        case DT_UINT8: v[i] = ((const uint8_t *)d)[i]; break;
        case DT_INT8: v[i] = ((const int8_t *)d)[i]; break;
        case DT_INT16: v[i] = ((const int16_t *)d)[i]; break;
        case DT_UINT16: v[i] = ((const uint16_t *)d)[i]; break;
        case DT_INT32: v[i] = ((const int32_t *)d)[i]; break;
        case DT_UINT32: v[i] = ((const uint32_t *)d)[i]; break;
        case DT_INT64: v[i] = (double)((const int64_t *)d)[i]; break;
        case DT_UINT64: v[i] = (double)((const uint64_t *)d)[i]; break;
        case DT_FLOAT32: v[i] = ((const float *)d)[i]; break;
        default: v[i] = ((const double *)d)[i]; break;
        }
    }
    out->nx = nx; out->ny = ny; out->nz = nz;
    out->volumes = nim->nvox / n;
    out->nifti_version = header_version(path);
    out->datatype = nim->datatype;
    out->slope = nim->scl_slope; out->intercept = nim->scl_inter;
    out->cal_min = nim->cal_min; out->cal_max = nim->cal_max;
    out->values = v;
    nifti_image_free(nim);
    return 0;
}
