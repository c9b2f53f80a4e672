// A small C interface over GDCM (Debian's libgdcm-dev 3.0), the DICOM toolkit medpfl decodes pixel data with.
//
// GDCM is C++; Swift sees only this header. The bridge reads a file, decodes every frame of its pixel data
// (uncompressed, RLE, JPEG baseline/extended/lossless, JPEG-LS, JPEG 2000, deflate: whatever GDCM's codecs
// handle) into native-endian samples, and hands out raw attribute values by tag path. It never interprets a
// value (rescale, windowing, colour spaces are Swift's, in Sources/Imaging/DICOM) and never prints: GDCM's
// own warning and error streams are switched off, because they would echo attribute values to stderr.
#ifndef MEDPFL_GDCM_H
#define MEDPFL_GDCM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Outcome of medpfl_dicom_open.
enum {
    MEDPFL_DICOM_OK = 0,
    /// The file could not be opened or read.
    MEDPFL_DICOM_UNREADABLE = 1,
    /// The file is not DICOM (no data set could be parsed).
    MEDPFL_DICOM_NOT_DICOM = 2,
    /// A DICOM data set without pixel data (a structured report, an RT plan...).
    MEDPFL_DICOM_NO_PIXEL_DATA = 3,
    /// The transfer syntax is not one GDCM can decode; `detail` holds its UID.
    MEDPFL_DICOM_UNSUPPORTED_SYNTAX = 4,
    /// The data set parsed, but its pixel data could not be decoded (truncated, corrupt stream).
    MEDPFL_DICOM_CORRUPT = 5,
};

typedef struct medpfl_dicom medpfl_dicom;

/// What the decoded pixel buffer holds. `transfer_syntax` is the file's UID (not a patient attribute).
typedef struct {
    uint32_t columns, rows, frames;
    uint32_t samples_per_pixel, bits_allocated, bits_stored, high_bit, pixel_representation;
    /// Planar configuration of the decoded buffer (0: interleaved samples, 1: one plane per sample).
    uint32_t planar_configuration;
    /// 1 when the data set's transfer syntax is big endian (attribute values are in that order).
    uint32_t big_endian;
    /// Photometric interpretation of the decoded buffer (after a JPEG codec's colour conversion).
    char photometric[32];
    /// Photometric interpretation as the file's (0028,0004) states it.
    char stored_photometric[32];
    char transfer_syntax[72];
    /// Bytes in the decoded buffer (all frames).
    uint64_t buffer_length;
} medpfl_dicom_info;

/// Reads and decodes `path`. On success returns MEDPFL_DICOM_OK and sets `*out` (free it with
/// medpfl_dicom_close). On failure `*out` is NULL and `detail` (NUL-terminated, may be empty) says more: a
/// transfer syntax UID or a codec's reason, never an attribute value of the file.
int medpfl_dicom_open(const char *path, medpfl_dicom **out, char *detail, size_t detail_length);

void medpfl_dicom_close(medpfl_dicom *dicom);

void medpfl_dicom_get_info(const medpfl_dicom *dicom, medpfl_dicom_info *info);

/// The decoded samples of every frame, native byte order; `info.buffer_length` bytes.
const void *medpfl_dicom_pixels(const medpfl_dicom *dicom);

/// The raw bytes of the attribute reached by `depth` tags (group << 16 | element): every tag but the last
/// names a sequence, entered at the 1-based item `items[i]`. Returns the value length and sets `*value`
/// (valid until close), or -1 when the path does not exist. Values are as stored: strings padded, binary
/// numbers in the data set's byte order.
int64_t medpfl_dicom_value(const medpfl_dicom *dicom, const uint32_t *tags, const uint32_t *items, int depth,
                           const void **value);

/// The number of items of the sequence reached by the path (as for medpfl_dicom_value), or -1.
int64_t medpfl_dicom_items(const medpfl_dicom *dicom, const uint32_t *tags, const uint32_t *items, int depth);

#ifdef __cplusplus
}
#endif

#endif
