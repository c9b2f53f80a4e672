#include "PNGCodec.h"
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/stat.h>

typedef struct { const uint8_t *data; size_t size, pos; } reader_t;
typedef struct { char *err; size_t errlen; } errctx_t;

static void read_fn(png_structp png, png_bytep out, png_size_t n) {
    reader_t *r = (reader_t *)png_get_io_ptr(png);
    if (r->pos + n > r->size) png_error(png, "truncated PNG data");
    memcpy(out, r->data + r->pos, n);
    r->pos += n;
}

static void error_fn(png_structp png, png_const_charp msg) {
    errctx_t *e = (errctx_t *)png_get_error_ptr(png);
    if (e && e->err) snprintf(e->err, e->errlen, "%s", msg);
    png_longjmp(png, 1);
}
static void warning_fn(png_structp png, png_const_charp msg) { (void)png; (void)msg; }

int medpfl_png_decode(const uint8_t *data, size_t size, int *width, int *height, int *channels,
                      int *bitdepth, uint16_t **pixels, char *err, size_t errlen) {
    *pixels = NULL;
    if (size < 8 || png_sig_cmp(data, 0, 8) != 0) { snprintf(err, errlen, "not a PNG file (bad signature)"); return 1; }
    errctx_t ectx = { err, errlen };
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &ectx, error_fn, warning_fn);
    if (!png) { snprintf(err, errlen, "out of memory"); return 1; }
    png_infop info = png_create_info_struct(png);
    if (!info) { png_destroy_read_struct(&png, NULL, NULL); snprintf(err, errlen, "out of memory"); return 1; }
    png_bytep volatile buf = NULL;
    png_bytepp volatile rows = NULL;
    reader_t rd = { data, size, 0 };
    if (setjmp(png_jmpbuf(png))) {
        free(buf); free(rows);
        png_destroy_read_struct(&png, &info, NULL);
        return 1;
    }
    png_set_read_fn(png, &rd, read_fn);
    png_read_info(png, info);
    png_uint_32 w = png_get_image_width(png, info), h = png_get_image_height(png, info);
    int color = png_get_color_type(png, info), depth = png_get_bit_depth(png, info);
    if (w == 0 || h == 0 || w > 16384 || h > 16384) png_error(png, "unsupported image dimensions");
    if (color == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (color == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(png);
    if (png_get_valid(png, info, PNG_INFO_tRNS)) png_set_tRNS_to_alpha(png);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    int ch = png_get_channels(png, info);
    int bd = png_get_bit_depth(png, info);
    size_t rowbytes = png_get_rowbytes(png, info);
    buf = (png_bytep)malloc(rowbytes * h);
    rows = (png_bytepp)malloc(sizeof(png_bytep) * h);
    if (!buf || !rows) png_error(png, "out of memory");
    for (png_uint_32 y = 0; y < h; y++) rows[y] = buf + y * rowbytes;
    png_read_image(png, rows);
    png_read_end(png, NULL);
    size_t n = (size_t)w * h * ch;
    uint16_t *out = (uint16_t *)malloc(n * sizeof(uint16_t));
    if (!out) png_error(png, "out of memory");
    if (bd == 16) {
        /* PNG stores 16-bit samples big-endian; assemble them so the result is right on any host. */
        for (png_uint_32 y = 0; y < h; y++)
            for (size_t i = 0; i < (size_t)w * ch; i++)
                out[(size_t)y * w * ch + i] = (uint16_t)((rows[y][2 * i] << 8) | rows[y][2 * i + 1]);
    } else {
        for (png_uint_32 y = 0; y < h; y++)
            for (size_t i = 0; i < (size_t)w * ch; i++) out[(size_t)y * w * ch + i] = rows[y][i];
    }
    free(buf); free(rows);
    png_destroy_read_struct(&png, &info, NULL);
    *width = (int)w; *height = (int)h; *channels = ch; *bitdepth = bd; *pixels = out;
    return 0;
}

typedef struct { uint8_t *data; size_t size, capacity; int failed; } writer_t;

static void write_fn(png_structp png, png_bytep in, png_size_t n) {
    writer_t *w = (writer_t *)png_get_io_ptr(png);
    if (w->size + n > w->capacity) {
        size_t cap = w->capacity ? w->capacity : 4096;
        while (cap < w->size + n) cap *= 2;
        uint8_t *grown = (uint8_t *)realloc(w->data, cap);
        if (!grown) { w->failed = 1; png_error(png, "out of memory"); }
        w->data = grown; w->capacity = cap;
    }
    memcpy(w->data + w->size, in, n);
    w->size += n;
}
static void flush_fn(png_structp png) { (void)png; }

static int encode(const void *pixels, int depth, int width, int height, int channels, uint8_t **out, size_t *outlen,
                  char *err, size_t errlen) {
    *out = NULL; *outlen = 0;
    int color = channels == 1 ? PNG_COLOR_TYPE_GRAY : channels == 3 ? PNG_COLOR_TYPE_RGB
              : channels == 4 ? PNG_COLOR_TYPE_RGBA : -1;
    if (color < 0) { snprintf(err, errlen, "cannot write %d channels", channels); return 1; }
    if (width <= 0 || height <= 0 || width > 16384 || height > 16384 || !pixels) {
        snprintf(err, errlen, "cannot write a %dx%d image", width, height); return 1;
    }
    errctx_t ectx = { err, errlen };
    writer_t volatile_w = { NULL, 0, 0, 0 };
    writer_t *volatile wr = &volatile_w;
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &ectx, error_fn, warning_fn);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!png || !info) { png_destroy_write_struct(&png, NULL); snprintf(err, errlen, "out of memory"); return 1; }
    if (setjmp(png_jmpbuf(png))) { png_destroy_write_struct(&png, &info); free(wr->data); return 1; }
    png_set_write_fn(png, wr, write_fn, flush_fn);
    png_set_IHDR(png, info, width, height, depth, color, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    size_t rowBytes = (size_t)width * channels * (depth / 8);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    if (depth == 16) png_set_swap(png); /* PNG stores 16-bit samples big endian */
#endif
    for (int y = 0; y < height; y++) png_write_row(png, (png_const_bytep)((const uint8_t *)pixels + (size_t)y * rowBytes));
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    *out = wr->data; *outlen = wr->size;
    return 0;
}

int medpfl_png_encode(const uint8_t *pixels, int width, int height, int channels, uint8_t **out, size_t *outlen,
                      char *err, size_t errlen) {
    return encode(pixels, 8, width, height, channels, out, outlen, err, errlen);
}

int medpfl_png_encode16(const uint16_t *pixels, int width, int height, int channels, uint8_t **out, size_t *outlen,
                        char *err, size_t errlen) {
    return encode(pixels, 16, width, height, channels, out, outlen, err, errlen);
}
