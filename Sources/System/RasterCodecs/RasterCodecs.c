#include "RasterCodecs.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <tiffio.h>

/* ---------------------------------------------------------------- JPEG */

typedef struct {
    struct jpeg_error_mgr base;
    jmp_buf jump;
    char *err;
    size_t errlen;
} jpeg_error_t;

static void jpeg_fail(j_common_ptr cinfo) {
    jpeg_error_t *e = (jpeg_error_t *)cinfo->err;
    char msg[JMSG_LENGTH_MAX];
    (*cinfo->err->format_message)(cinfo, msg);
    snprintf(e->err, e->errlen, "%s", msg);
    longjmp(e->jump, 1);
}

static void jpeg_quiet(j_common_ptr cinfo, int level) { (void)cinfo; (void)level; }

int medpfl_jpeg_decode(const uint8_t *data, size_t size, medpfl_raster *out, char *err, size_t errlen) {
    memset(out, 0, sizeof *out);
    if (size < 4 || data[0] != 0xFF || data[1] != 0xD8) { snprintf(err, errlen, "not a JPEG stream"); return 1; }
    struct jpeg_decompress_struct cinfo;
    jpeg_error_t jerr;
    cinfo.err = jpeg_std_error(&jerr.base);
    jerr.base.error_exit = jpeg_fail;
    jerr.base.emit_message = jpeg_quiet;
    jerr.err = err;
    jerr.errlen = errlen;
    unsigned char *volatile pixels = NULL;
    if (setjmp(jerr.jump)) {
        jpeg_destroy_decompress(&cinfo);
        free(pixels);
        return 1;
    }
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, data, (unsigned long)size);
    jpeg_read_header(&cinfo, TRUE);
    if (cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK) {
        snprintf(err, errlen, "CMYK JPEG is not read (gray and RGB are)");
        jpeg_destroy_decompress(&cinfo);
        return 1;
    }
    cinfo.out_color_space = cinfo.num_components == 1 ? JCS_GRAYSCALE : JCS_RGB;
    if (cinfo.image_width > 16384 || cinfo.image_height > 16384) {
        snprintf(err, errlen, "a %ux%u JPEG is larger than the 16384 px medpfl reads", cinfo.image_width, cinfo.image_height);
        jpeg_destroy_decompress(&cinfo);
        return 1;
    }
    jpeg_start_decompress(&cinfo);
    int w = (int)cinfo.output_width, h = (int)cinfo.output_height, c = cinfo.output_components;
    pixels = malloc((size_t)w * h * c);
    if (!pixels) { snprintf(err, errlen, "out of memory"); jpeg_destroy_decompress(&cinfo); return 1; }
    while (cinfo.output_scanline < cinfo.output_height) {
        JSAMPROW row = pixels + (size_t)cinfo.output_scanline * w * c;
        jpeg_read_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);
    out->width = w; out->height = h; out->channels = c; out->bits = 8; out->pages = 1; out->samples = pixels;
    return 0;
}

/* ---------------------------------------------------------------- TIFF */

static _Thread_local char *tiff_err = NULL;
static _Thread_local size_t tiff_errlen = 0;

static void tiff_error(const char *module, const char *fmt, va_list ap) {
    (void)module;
    if (tiff_err && tiff_errlen) vsnprintf(tiff_err, tiff_errlen, fmt, ap);
}
static void tiff_warning(const char *module, const char *fmt, va_list ap) { (void)module; (void)fmt; (void)ap; }

int medpfl_tiff_decode(const char *path, int page, medpfl_raster *out, char *err, size_t errlen) {
    memset(out, 0, sizeof *out);
    snprintf(err, errlen, "libtiff could not read the file");
    tiff_err = err; tiff_errlen = errlen;
    TIFFSetErrorHandler(tiff_error);
    TIFFSetWarningHandler(tiff_warning);
    TIFF *t = TIFFOpen(path, "r");
    if (!t) return 1;
    int pages = 0;
    do { pages++; } while (TIFFReadDirectory(t) && pages < 100000);
    if (page < 0 || page >= pages) { snprintf(err, errlen, "no page %d: the file has %d", page, pages); TIFFClose(t); return 1; }
    if (!TIFFSetDirectory(t, (tdir_t)page)) { TIFFClose(t); return 1; }
    uint32_t w = 0, h = 0;
    uint16_t spp = 1, bps = 1, photometric = PHOTOMETRIC_MINISBLACK, planar = PLANARCONFIG_CONTIG, format = SAMPLEFORMAT_UINT;
    TIFFGetField(t, TIFFTAG_IMAGEWIDTH, &w);
    TIFFGetField(t, TIFFTAG_IMAGELENGTH, &h);
    TIFFGetFieldDefaulted(t, TIFFTAG_SAMPLESPERPIXEL, &spp);
    TIFFGetFieldDefaulted(t, TIFFTAG_BITSPERSAMPLE, &bps);
    TIFFGetFieldDefaulted(t, TIFFTAG_PLANARCONFIG, &planar);
    TIFFGetFieldDefaulted(t, TIFFTAG_SAMPLEFORMAT, &format);
    if (!TIFFGetField(t, TIFFTAG_PHOTOMETRIC, &photometric)) photometric = spp >= 3 ? PHOTOMETRIC_RGB : PHOTOMETRIC_MINISBLACK;
    if (w == 0 || h == 0 || w > 16384 || h > 16384) {
        snprintf(err, errlen, "a %ux%u TIFF page is empty or larger than the 16384 px medpfl reads", w, h);
        TIFFClose(t);
        return 1;
    }
    int gray = photometric == PHOTOMETRIC_MINISBLACK || photometric == PHOTOMETRIC_MINISWHITE;
    int direct = (bps == 8 || bps == 16) && format == SAMPLEFORMAT_UINT && planar == PLANARCONFIG_CONTIG
              && ((gray && spp == 1) || (photometric == PHOTOMETRIC_RGB && spp == 3));
    if (direct) {
        int c = spp, bytes = bps / 8;
        size_t rowBytes = (size_t)w * c * bytes;
        uint8_t *pixels = malloc(rowBytes * h);
        if (!pixels) { snprintf(err, errlen, "out of memory"); TIFFClose(t); return 1; }
        int ok = 1;
        if (TIFFIsTiled(t)) {
            uint32_t tw = 0, th = 0;
            TIFFGetField(t, TIFFTAG_TILEWIDTH, &tw);
            TIFFGetField(t, TIFFTAG_TILELENGTH, &th);
            tmsize_t tileSize = TIFFTileSize(t);
            uint8_t *tile = tw && th && tileSize > 0 ? malloc((size_t)tileSize) : NULL;
            if (!tile) ok = 0;
            for (uint32_t y = 0; ok && y < h; y += th) {
                for (uint32_t x = 0; ok && x < w; x += tw) {
                    if (TIFFReadTile(t, tile, x, y, 0, 0) < 0) { ok = 0; break; }
                    uint32_t rows = y + th > h ? h - y : th, cols = x + tw > w ? w - x : tw;
                    for (uint32_t r = 0; r < rows; r++)
                        memcpy(pixels + (size_t)(y + r) * rowBytes + (size_t)x * c * bytes,
                               tile + (size_t)r * tw * c * bytes, (size_t)cols * c * bytes);
                }
            }
            free(tile);
        } else {
            for (uint32_t y = 0; y < h; y++) {
                if (TIFFReadScanline(t, pixels + (size_t)y * rowBytes, y, 0) < 0) { ok = 0; break; }
            }
        }
        if (!ok) { free(pixels); TIFFClose(t); return 1; }
        if (photometric == PHOTOMETRIC_MINISWHITE) {
            if (bytes == 1) for (size_t i = 0; i < rowBytes * h; i++) pixels[i] = (uint8_t)(255 - pixels[i]);
            else { uint16_t *p = (uint16_t *)pixels; for (size_t i = 0; i < (size_t)w * h; i++) p[i] = (uint16_t)(65535 - p[i]); }
        }
        out->width = (int)w; out->height = (int)h; out->channels = c; out->bits = bps; out->pages = pages; out->samples = pixels;
        TIFFClose(t);
        return 0;
    }
    uint32_t *rgba = _TIFFmalloc((tmsize_t)((size_t)w * h * sizeof(uint32_t)));
    if (!rgba) { snprintf(err, errlen, "out of memory"); TIFFClose(t); return 1; }
    if (!TIFFReadRGBAImageOriented(t, w, h, rgba, ORIENTATION_TOPLEFT, 0)) { _TIFFfree(rgba); TIFFClose(t); return 1; }
    uint8_t *pixels = malloc((size_t)w * h * 3);
    if (!pixels) { _TIFFfree(rgba); snprintf(err, errlen, "out of memory"); TIFFClose(t); return 1; }
    for (size_t i = 0; i < (size_t)w * h; i++) {
        pixels[3 * i] = (uint8_t)TIFFGetR(rgba[i]);
        pixels[3 * i + 1] = (uint8_t)TIFFGetG(rgba[i]);
        pixels[3 * i + 2] = (uint8_t)TIFFGetB(rgba[i]);
    }
    _TIFFfree(rgba);
    out->width = (int)w; out->height = (int)h; out->channels = 3; out->bits = 8; out->pages = pages; out->samples = pixels;
    TIFFClose(t);
    return 0;
}
