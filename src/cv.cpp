// Image and mask IO over OpenCV 4: the one C++ file of adbench. Everything is extern "C";
// no C++ exception ever crosses into C (cv::Exception and std::exception are caught and
// turned into ad_error messages), and OpenCV's logger is silenced.
//
// Decoding rules (checked against Pillow 9.4 in tests/gen/gen_image.py):
//  * the file is read by us (clear "cannot open" errors), its format is recognised from the
//    magic bytes (PNG, JPEG, BMP, TIFF only) and truncated PNG/JPEG files are rejected before
//    OpenCV sees them (libjpeg would otherwise return a half-grey image and a warning);
//  * cv::imdecode(IMREAD_UNCHANGED): keeps 16-bit depth and alpha and, as the Python loaders,
//    ignores EXIF orientation (OpenCV only applies it when flags != IMREAD_UNCHANGED);
//  * 8-bit gray/colour JPEG is decoded by the same system libjpeg with default settings but our
//    own silent error manager (see jpeg_decode_silent), so damaged data never prints to stderr;
//    identical pixels to OpenCV's and Pillow's decode (both use that libjpeg with these defaults);
//  * PNG reaches OpenCV with its ancillary chunks removed (png_critical_only), so libpng has no
//    colour-profile/text chunk to warn about on stderr;
//  * 8-bit output of 16-bit files follows PIL's Image.open(p).convert("RGB"):
//      - single-channel 16-bit (PNG, TIFF): PIL opens it as mode "I"/"I;16" and convert()
//        CLIPS to 255, i.e. min(v, 255) (not v >> 8: a PIL quirk, reproduced on purpose);
//      - 16-bit colour (RGB, RGBA, gray+alpha): PIL keeps the high byte, v >> 8;
//  * float output keeps full precision: v / 255 or v / 65535.
#include <opencv2/core.hpp>
#include <opencv2/core/utils/logger.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <exception>
#include <iostream>
#include <mutex>
#include <string>
#include <vector>

extern "C" {
#include "err.h"
#include "fsutil.h"
#include "image.h"
}

// JPEG goes through the system libjpeg directly when its header is available: libjpeg prints
// warnings about damaged data ("Corrupt JPEG data: ...") on stderr from inside OpenCV, and only
// our own error manager can silence them. The library is the one OpenCV already loaded (looked up
// with dlsym, so no extra link flag); if it is missing, OpenCV decodes as before.
#if defined(__has_include)
#if __has_include(<jpeglib.h>) && __has_include(<dlfcn.h>)
#define AD_SILENT_JPEG 1
#include <csetjmp>
#include <dlfcn.h>
extern "C" {
#include <jpeglib.h>
}
#endif
#endif

namespace {

const char *FIX_READ = "Fix: check the path, or re-export the file as PNG";

// OpenCV 4.6 logs through its logger and, in imdecode, straight to std::cerr. adbench is C
// and never uses std::cerr, so both are switched off once (stdio's stderr is untouched).
void quiet_opencv() {
    static std::once_flag once;
    std::call_once(once, [] {
        cv::utils::logging::setLogLevel(cv::utils::logging::LOG_LEVEL_SILENT);
        std::cerr.rdbuf(nullptr);
    });
}

// CRC-32 (PNG, ISO 3309), so corrupt chunks are reported by us and not by libpng on stderr.
uint32_t crc32_png(const unsigned char *p, size_t n) {
    static uint32_t table[256];
    static std::once_flag once;
    std::call_once(once, [] {
        for (uint32_t i = 0; i < 256; i++) {
            uint32_t c = i;
            for (int k = 0; k < 8; k++) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            table[i] = c;
        }
    });
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) c = table[(c ^ p[i]) & 0xFF] ^ (c >> 8);
    return c ^ 0xFFFFFFFFu;
}

// OpenCV's exception text is multi-line and carries its source paths
// ("OpenCV(4.6.0) /build/.../loadsave.cpp:77: error: (-215:Assertion failed) ... in function 'x'\n"):
// keep only the description (e.err), on one line.
std::string cv_text(const cv::Exception &e) {
    std::string t = e.err.empty() ? std::string(e.what()) : e.err;
    if (!e.err.empty() && e.code == cv::Error::StsAssert) t = "OpenCV assertion failed: " + t;
    if (!e.err.empty() && !e.func.empty()) t += " in " + e.func;
    for (char &ch : t)
        if (ch == '\n' || ch == '\r' || ch == '\t') ch = ' ';
    while (!t.empty() && t.back() == ' ') t.pop_back();
    return t;
}

enum Fmt { FMT_UNKNOWN, FMT_PNG, FMT_JPEG, FMT_BMP, FMT_TIFF };

const char *fmt_name(Fmt f) {
    switch (f) {
    case FMT_PNG: return "PNG";
    case FMT_JPEG: return "JPEG";
    case FMT_BMP: return "BMP";
    case FMT_TIFF: return "TIFF";
    default: return "unknown";
    }
}

Fmt sniff(const unsigned char *b, size_t n) {
    if (n >= 8 && !memcmp(b, "\x89PNG\r\n\x1a\n", 8)) return FMT_PNG;
    if (n >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF) return FMT_JPEG;
    if (n >= 2 && b[0] == 'B' && b[1] == 'M') return FMT_BMP;
    if (n >= 4 && (!memcmp(b, "II*\0", 4) || !memcmp(b, "MM\0*", 4))) return FMT_TIFF;
    return FMT_UNKNOWN;
}

uint32_t be32(const unsigned char *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
int32_t le32(const unsigned char *p) {
    return (int32_t)((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24);
}

// Printable description of the first bytes, for "found ..." in messages.
void describe_magic(char *dst, size_t cap, const unsigned char *b, size_t n) {
    size_t k = 0;
    dst[0] = 0;
    for (size_t i = 0; i < n && i < 8 && k + 5 < cap; i++)
        k += (size_t)snprintf(dst + k, cap - k, (b[i] >= 32 && b[i] < 127 && b[i] != '\\') ? "%c" : "\\x%02x", b[i]);
}

int read_all(const char *path, std::vector<unsigned char> &buf) {
    FILE *f = fopen(path, "rb");
    if (!f)
        return ad_error("%s: expected a PNG/JPEG/BMP/TIFF image, but the file cannot be opened (%s). %s",
                        path, strerror(errno), FIX_READ);
    unsigned char tmp[1 << 16];
    size_t n;
    while ((n = fread(tmp, 1, sizeof tmp, f)) > 0) buf.insert(buf.end(), tmp, tmp + n);
    int bad = ferror(f), e = errno;
    fclose(f);
    if (bad)
        return ad_error("%s: expected a PNG/JPEG/BMP/TIFF image, but reading it failed (%s). %s", path,
                        strerror(e), FIX_READ);
    return 0;
}

// Structural checks that catch truncation before the codec does (silently, for JPEG).
int check_complete(const char *path, Fmt fmt, const std::vector<unsigned char> &b) {
    size_t n = b.size();
    if (fmt == FMT_PNG) {
        // Walk the chunks: IHDR first, IEND last, no chunk running past the end.
        size_t p = 8;
        bool first = true;
        while (true) {
            if (p + 12 > n)
                return ad_error("%s: expected a complete PNG image, found a file truncated at byte %zu "
                                "(no IEND chunk). Fix: re-copy or re-export the file", path, n);
            uint32_t len = be32(&b[p]);
            const unsigned char *type = &b[p + 4];
            if (first && memcmp(type, "IHDR", 4))
                return ad_error("%s: expected a PNG image starting with an IHDR chunk, found a corrupt header. "
                                "Fix: re-export the file", path);
            first = false;
            if ((uint64_t)p + 12 + len > n)
                return ad_error("%s: expected a complete PNG image, found a file truncated at byte %zu "
                                "(chunk '%.4s' needs %u bytes). Fix: re-copy or re-export the file",
                                path, n, type, len);
            if (crc32_png(&b[p + 4], 4 + (size_t)len) != be32(&b[p + 8 + len]))
                return ad_error("%s: expected a valid PNG image, found a corrupt '%.4s' chunk at byte %zu "
                                "(CRC mismatch). Fix: re-copy or re-export the file", path, type, p);
            p += 12 + (size_t)len;
            if (!memcmp(type, "IEND", 4)) break;
        }
    } else if (fmt == FMT_JPEG) {
        // Markers FF DA (start of scan) and FF D9 (end of image) cannot occur inside
        // entropy-coded data (FF is stuffed as FF 00), so the last EOI must follow the last SOS.
        long last_sos = -1, last_eoi = -1;
        for (size_t i = 0; i + 1 < n; i++)
            if (b[i] == 0xFF) {
                if (b[i + 1] == 0xDA) last_sos = (long)i;
                else if (b[i + 1] == 0xD9) last_eoi = (long)i;
            }
        if (last_sos < 0 || last_eoi < last_sos)
            return ad_error("%s: expected a complete JPEG image, found a file of %zu bytes with no end-of-image "
                            "marker after its image data (truncated). Fix: re-copy or re-export the file",
                            path, n);
    } else if (fmt == FMT_BMP) {
        if (n < 26)
            return ad_error("%s: expected a BMP image, found a file of only %zu bytes (truncated). "
                            "Fix: re-copy or re-export the file", path, n);
        uint32_t off = (uint32_t)le32(&b[10]);
        if (off > n)
            return ad_error("%s: expected a complete BMP image, found a file of %zu bytes whose pixel data "
                            "would start at byte %u (truncated). Fix: re-copy or re-export the file",
                            path, n, off);
    }
    return 0;
}

// Width and height from the header bytes (PNG IHDR, JPEG SOFn, BMP, TIFF first IFD), in 64
// bits (a BMP height of -2^31 must not be negated in an int). Returns 1 when found.
int header_dims(const unsigned char *b, size_t n, Fmt fmt, int64_t *w, int64_t *h) {
    if (fmt == FMT_PNG && n >= 24 && !memcmp(b + 12, "IHDR", 4)) {
        *w = be32(b + 16), *h = be32(b + 20);
        return 1;
    }
    if (fmt == FMT_BMP && n >= 26) {
        int64_t ww = le32(b + 18), hh = le32(b + 22);
        *w = ww, *h = hh < 0 ? -hh : hh;  // top-down BMP: negative height
        return 1;
    }
    if (fmt == FMT_JPEG) {
        size_t pos = 2;
        while (pos + 4 <= n) {
            if (b[pos] != 0xFF) return 0;
            int m = b[pos + 1];
            if (m == 0xFF) { pos++; continue; }  // fill byte
            size_t len = (size_t)b[pos + 2] << 8 | b[pos + 3];
            bool sof = m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC;
            if (sof) {
                if (pos + 9 > n) return 0;
                *h = b[pos + 5] << 8 | b[pos + 6], *w = b[pos + 7] << 8 | b[pos + 8];
                return 1;
            }
            if (m == 0xDA || m == 0xD9 || len < 2) return 0;
            pos += 2 + len;
        }
        return 0;
    }
    if (fmt == FMT_TIFF && n >= 8) {
        bool le = b[0] == 'I';
        auto r16 = [&](size_t o) { return le ? (uint32_t)(b[o] | b[o + 1] << 8) : (uint32_t)(b[o] << 8 | b[o + 1]); };
        auto r32 = [&](size_t o) { return le ? (r16(o) | r16(o + 2) << 16) : (r16(o) << 16 | r16(o + 2)); };
        uint64_t off = r32(4);
        if (off + 2 > n) return 0;
        uint32_t cnt = r16((size_t)off);
        int got = 0;
        for (uint32_t i = 0; i < cnt && off + 2 + 12ull * (i + 1) <= n; i++) {
            size_t e = (size_t)off + 2 + 12 * (size_t)i;
            uint32_t tag = r16(e), typ = r16(e + 2), v = typ == 3 ? r16(e + 8) : r32(e + 8);
            if (tag == 256) *w = v, got |= 1;
            if (tag == 257) *h = v, got |= 2;
        }
        return got == 3;
    }
    return 0;
}

// Pixel-count limit, checked from the header before any decoding (as Pillow's
// MAX_IMAGE_PIXELS): a 339-byte JPEG claiming 65000x65000 pixels must not reach the decoder.
// ADBENCH_MAX_PIXELS overrides the default 2^28.
uint64_t max_pixels() {
    const char *e = getenv("ADBENCH_MAX_PIXELS");
    if (e && *e) {
        char *end;
        unsigned long long v = strtoull(e, &end, 10);
        if (!*end && v > 0) return v;
    }
    return 1ull << 28;
}

int check_pixels(const char *path, Fmt fmt, int64_t w, int64_t h) {
    if (w <= 0 || h <= 0 || w > (1 << 30) || h > (1 << 30))
        return ad_error("%s: expected a %s image with a positive size, found a header claiming %lldx%lld pixels. "
                        "Fix: re-export the file", path, fmt_name(fmt), (long long)w, (long long)h);
    uint64_t lim = max_pixels(), px = (uint64_t)w * (uint64_t)h;
    if (px > lim)
        return ad_error("%s: expected an image of at most %llu pixels, found a %s header claiming %lldx%lld = %llu "
                        "pixels. Fix: downscale the image, or raise the limit with ADBENCH_MAX_PIXELS=N", path,
                        (unsigned long long)lim, fmt_name(fmt), (long long)w, (long long)h, (unsigned long long)px);
    return 0;
}

#ifdef AD_SILENT_JPEG
struct JpegApi {
    struct jpeg_error_mgr *(*std_error)(struct jpeg_error_mgr *);
    void (*create)(j_decompress_ptr, int, size_t);
    void (*mem_src)(j_decompress_ptr, const unsigned char *, unsigned long);
    int (*read_header)(j_decompress_ptr, boolean);
    boolean (*start)(j_decompress_ptr);
    JDIMENSION (*read_scanlines)(j_decompress_ptr, JSAMPARRAY, JDIMENSION);
    boolean (*finish)(j_decompress_ptr);
    void (*destroy)(j_decompress_ptr);
    bool ok;
};

const JpegApi &jpeg_api() {
    static JpegApi api;
    static std::once_flag once;
    std::call_once(once, [] {
        api.std_error = (decltype(api.std_error))dlsym(RTLD_DEFAULT, "jpeg_std_error");
        api.create = (decltype(api.create))dlsym(RTLD_DEFAULT, "jpeg_CreateDecompress");
        api.mem_src = (decltype(api.mem_src))dlsym(RTLD_DEFAULT, "jpeg_mem_src");
        api.read_header = (decltype(api.read_header))dlsym(RTLD_DEFAULT, "jpeg_read_header");
        api.start = (decltype(api.start))dlsym(RTLD_DEFAULT, "jpeg_start_decompress");
        api.read_scanlines = (decltype(api.read_scanlines))dlsym(RTLD_DEFAULT, "jpeg_read_scanlines");
        api.finish = (decltype(api.finish))dlsym(RTLD_DEFAULT, "jpeg_finish_decompress");
        api.destroy = (decltype(api.destroy))dlsym(RTLD_DEFAULT, "jpeg_destroy_decompress");
        api.ok = api.std_error && api.create && api.mem_src && api.read_header && api.start &&
                 api.read_scanlines && api.finish && api.destroy;
    });
    return api;
}

struct SilentJpegErr {
    struct jpeg_error_mgr pub;
    jmp_buf jb;
    char msg[JMSG_LENGTH_MAX];
};
extern "C" void silent_jpeg_exit(j_common_ptr c) {
    SilentJpegErr *e = (SilentJpegErr *)c->err;
    c->err->format_message(c, e->msg);
    longjmp(e->jb, 1);
}
extern "C" void silent_jpeg_output(j_common_ptr) {}

// Default libjpeg decompression (ISLOW DCT, fancy upsampling), as Pillow and OpenCV use, into
// interleaved 8-bit samples: gray stays 1 channel, colour comes out BGR like OpenCV's. Warnings
// are dropped (Pillow loads such files too). Returns 0 (pix malloc'd), 1 (error, msg set) or
// 2 (not handled here: CMYK/YCCK, 12-bit, library unavailable).
// Only plain C objects live in this frame: longjmp skips no destructor.
int jpeg_decode_silent(const unsigned char *buf, size_t n, unsigned char **pix, int *w, int *h, int *c,
                       char *msg, size_t msgcap) {
    const JpegApi &api = jpeg_api();
    if (!api.ok) return 2;
    struct jpeg_decompress_struct cinfo;
    SilentJpegErr err;
    unsigned char *volatile out = NULL, *volatile row4 = NULL;
    volatile int created = 0;
    memset(&cinfo, 0, sizeof cinfo);
    cinfo.err = api.std_error(&err.pub);
    err.pub.error_exit = silent_jpeg_exit;
    err.pub.output_message = silent_jpeg_output;
    err.msg[0] = 0;
    if (setjmp(err.jb)) {
        snprintf(msg, msgcap, "%s", err.msg);
        if (created) api.destroy(&cinfo);
        free(out);
        free(row4);
        return 1;
    }
    api.create(&cinfo, JPEG_LIB_VERSION, sizeof cinfo);
    created = 1;
    api.mem_src(&cinfo, buf, (unsigned long)n);
    api.read_header(&cinfo, TRUE);
    if ((uint64_t)cinfo.image_width * cinfo.image_height > max_pixels() || !cinfo.image_width || !cinfo.image_height) {
        snprintf(msg, msgcap, "header claims %ux%u pixels, more than the limit of %llu (ADBENCH_MAX_PIXELS)",
                 cinfo.image_width, cinfo.image_height, (unsigned long long)max_pixels());
        api.destroy(&cinfo);
        return 1;
    }
    if (cinfo.num_components != 1 && cinfo.num_components != 3 && cinfo.num_components != 4) {
        api.destroy(&cinfo);
        return 2;
    }
    // CMYK / YCCK (4 components) too: libjpeg gives CMYK, converted to BGR with OpenCV's own
    // formula (icvCvt_CMYK2BGR_8u_C4C3R), so the pixels are OpenCV's and nothing reaches stderr.
    bool cmyk = cinfo.num_components == 4;
    cinfo.out_color_space = cinfo.num_components == 1 ? JCS_GRAYSCALE : cmyk ? JCS_CMYK : JCS_EXT_BGR;
    api.start(&cinfo);
    int ww = (int)cinfo.output_width, hh = (int)cinfo.output_height, cc = cmyk ? 3 : cinfo.output_components;
    out = (unsigned char *)ad_malloc((size_t)ww * hh * cc);
    if (cmyk) row4 = (unsigned char *)ad_malloc((size_t)ww * 4);
    while (cinfo.output_scanline < cinfo.output_height) {
        size_t y = cinfo.output_scanline;
        JSAMPROW row = cmyk ? row4 : out + y * ww * cc;
        if (api.read_scanlines(&cinfo, &row, 1) != 1) break;
        if (cmyk) {
            unsigned char *d = out + y * ww * 3;
            for (int x = 0; x < ww; x++) {
                int c = row4[4 * x], m = row4[4 * x + 1], yy = row4[4 * x + 2], k = row4[4 * x + 3];
                d[3 * x + 2] = (unsigned char)(k - ((255 - c) * k >> 8));
                d[3 * x + 1] = (unsigned char)(k - ((255 - m) * k >> 8));
                d[3 * x + 0] = (unsigned char)(k - ((255 - yy) * k >> 8));
            }
        }
    }
    free(row4);
    row4 = NULL;
    api.finish(&cinfo);
    api.destroy(&cinfo);
    *pix = out;
    *w = ww;
    *h = hh;
    *c = cc;
    return 0;
}
#endif

// Drop the ancillary PNG chunks (lower-case first letter: iCCP, sRGB, gAMA, tEXt, tRNS, ...).
// Neither Pillow's convert("RGB") nor OpenCV applies colour management, so the pixels do not
// change, and libpng has nothing left to print warnings about ("iCCP: known incorrect sRGB
// profile"). Only tRNS matters to alpha, which the decoders here drop anyway.
std::vector<unsigned char> png_critical_only(const std::vector<unsigned char> &b) {
    std::vector<unsigned char> out(b.begin(), b.begin() + 8);
    size_t p = 8;
    while (p + 12 <= b.size()) {  // check_complete() has validated the chunk walk
        uint32_t len = be32(&b[p]);
        bool critical = (b[p + 4] & 0x20) == 0;
        if (critical) out.insert(out.end(), b.begin() + p, b.begin() + p + 12 + len);
        if (!memcmp(&b[p + 4], "IEND", 4)) break;
        p += 12 + (size_t)len;
    }
    return out;
}

// Read + sniff + check + decode (IMREAD_UNCHANGED). Returns 0 and a non-empty Mat, or -1.
int decode(const char *path, cv::Mat &m, Fmt *fmt_out) {
    quiet_opencv();
    std::vector<unsigned char> buf;
    if (read_all(path, buf)) return -1;
    Fmt fmt = sniff(buf.data(), buf.size());
    if (fmt == FMT_UNKNOWN) {
        char magic[64];
        describe_magic(magic, sizeof magic, buf.data(), buf.size());
        if (buf.empty())
            return ad_error("%s: expected a PNG/JPEG/BMP/TIFF image, found an empty file. %s", path, FIX_READ);
        return ad_error("%s: expected a PNG/JPEG/BMP/TIFF image, found a file starting with '%s' (%zu bytes). "
                        "Fix: convert it to PNG", path, magic, buf.size());
    }
    if (check_complete(path, fmt, buf)) return -1;
    int64_t hw = 0, hh = 0;
    if (header_dims(buf.data(), buf.size(), fmt, &hw, &hh) && check_pixels(path, fmt, hw, hh)) return -1;
#ifdef AD_SILENT_JPEG
    if (fmt == FMT_JPEG) {
        unsigned char *pix = NULL;
        int w = 0, h = 0, c = 0;
        char msg[JMSG_LENGTH_MAX + 16];
        int rc = jpeg_decode_silent(buf.data(), buf.size(), &pix, &w, &h, &c, msg, sizeof msg);
        if (rc == 1)
            return ad_error("%s: expected a readable JPEG image, libjpeg failed to decode it (%s). "
                            "Fix: re-export the file", path, msg);
        if (rc == 0) {
            m = cv::Mat(h, w, c == 1 ? CV_8UC1 : CV_8UC3);
            memcpy(m.data, pix, (size_t)w * h * c);
            free(pix);
            if (fmt_out) *fmt_out = fmt;
            return 0;
        }
    }
#endif
    if (fmt == FMT_PNG) buf = png_critical_only(buf);
    try {
        m = cv::imdecode(buf, cv::IMREAD_UNCHANGED);
    } catch (const cv::Exception &e) {
        return ad_error("%s: expected a readable %s image, OpenCV failed to decode it (%s). "
                        "Fix: re-export the file", path, fmt_name(fmt), cv_text(e).c_str());
    } catch (const std::exception &e) {
        return ad_error("%s: expected a readable %s image, decoding failed (%s). Fix: re-export the file",
                        path, fmt_name(fmt), e.what());
    }
    if (!m.empty() && check_pixels(path, fmt, m.cols, m.rows)) return -1;
    if (m.empty())
        return ad_error("%s: expected a readable %s image, found corrupt or unsupported image data. "
                        "Fix: re-export the file (8/16-bit gray, RGB or RGBA)", path, fmt_name(fmt));
    int d = m.depth();
    if (d != CV_8U && d != CV_16U)
        return ad_error("%s: expected an 8-bit or 16-bit %s image, found OpenCV depth %d (e.g. float or signed). "
                        "Fix: save it as 8-bit or 16-bit unsigned", path, fmt_name(fmt), d);
    int c = m.channels();
    if (c < 1 || c > 4)
        return ad_error("%s: expected 1 to 4 channels, found %d. Fix: save it as gray, RGB or RGBA", path, c);
    if (fmt_out) *fmt_out = fmt;
    return 0;
}

// Channel map from OpenCV's layout (gray, gray+alpha, BGR, BGRA) to R,G,B source indices.
void rgb_index(int c, int idx[3]) {
    if (c <= 2) idx[0] = idx[1] = idx[2] = 0;
    else { idx[0] = 2; idx[1] = 1; idx[2] = 0; }
}

int check_dims(const ImageU8 *img, const char *path, const char *what) {
    if (!img || !img->data || img->w <= 0 || img->h <= 0 || (img->c != 1 && img->c != 3))
        return ad_error("%s: expected a %s with 1 or 3 channels and positive size, found %dx%dx%d. "
                        "Fix: this is a caller bug; pass a decoded image", path, what,
                        img ? img->w : 0, img ? img->h : 0, img ? img->c : 0);
    return 0;
}

int write_bytes(const char *path, const std::vector<unsigned char> &enc) {
    // Write to a temporary name, then rename: never a partial file at `path`.
    char *tmpc = fs_tmp_name(path);  // pid + random suffix: concurrent writers never collide
    std::string tmp = tmpc;
    free(tmpc);
    FILE *f = fopen(tmp.c_str(), "wb");
    if (!f)
        return ad_error("%s: expected a writable location for a PNG file, cannot create it (%s). "
                        "Fix: create the folder or choose another --out", path, strerror(errno));
    size_t w = fwrite(enc.data(), 1, enc.size(), f);
    int bad = w != enc.size();
    bad |= fclose(f) != 0;  // always closed
    if (bad || rename(tmp.c_str(), path) != 0) {
        int e = errno;
        remove(tmp.c_str());
        return ad_error("%s: expected to write %zu bytes of PNG, writing failed (%s). Fix: check free disk space "
                        "and permissions", path, enc.size(), strerror(e));
    }
    return 0;
}

int encode_png(const char *path, const cv::Mat &m) {
    std::vector<unsigned char> enc;
    try {
        if (!cv::imencode(".png", m, enc))
            return ad_error("%s: expected OpenCV to encode a PNG, it refused. Fix: report this", path);
    } catch (const cv::Exception &e) {
        return ad_error("%s: expected OpenCV to encode a PNG, it failed (%s)", path, cv_text(e).c_str());
    }
    return write_bytes(path, enc);
}

}  // namespace

extern "C" {

int image_read_rgb8(const char *path, ImageU8 *out) {
    cv::Mat m;
    if (decode(path, m, nullptr)) return -1;
    int w = m.cols, h = m.rows, c = m.channels(), idx[3];
    rgb_index(c, idx);
    uint8_t *dst = (uint8_t *)ad_malloc((size_t)w * h * 3);
    if (m.depth() == CV_8U) {
        for (int y = 0; y < h; y++) {
            const uint8_t *s = m.ptr<uint8_t>(y);
            uint8_t *d = dst + (size_t)y * w * 3;
            for (int x = 0; x < w; x++)
                for (int k = 0; k < 3; k++) d[3 * x + k] = s[c * x + idx[k]];
        }
    } else {
        bool gray = c == 1;  // PIL mode "I": convert("RGB") clips; colour: high byte
        for (int y = 0; y < h; y++) {
            const uint16_t *s = m.ptr<uint16_t>(y);
            uint8_t *d = dst + (size_t)y * w * 3;
            for (int x = 0; x < w; x++)
                for (int k = 0; k < 3; k++) {
                    uint16_t v = s[c * x + idx[k]];
                    d[3 * x + k] = gray ? (uint8_t)(v > 255 ? 255 : v) : (uint8_t)(v >> 8);
                }
        }
    }
    out->w = w;
    out->h = h;
    out->c = 3;
    out->data = dst;
    return 0;
}

int image_read_rgbf(const char *path, ImageF *out) {
    cv::Mat m;
    if (decode(path, m, nullptr)) return -1;
    int w = m.cols, h = m.rows, c = m.channels(), idx[3];
    rgb_index(c, idx);
    float *dst = (float *)ad_malloc((size_t)w * h * 3 * sizeof(float));
    bool d8 = m.depth() == CV_8U;
    double scale = d8 ? 255.0 : 65535.0;
    for (int y = 0; y < h; y++) {
        float *d = dst + (size_t)y * w * 3;
        for (int x = 0; x < w; x++)
            for (int k = 0; k < 3; k++) {
                double v = d8 ? m.ptr<uint8_t>(y)[c * x + idx[k]] : m.ptr<uint16_t>(y)[c * x + idx[k]];
                d[3 * x + k] = (float)(v / scale);
            }
    }
    out->w = w;
    out->h = h;
    out->c = 3;
    out->data = dst;
    return 0;
}

int image_size(const char *path, int *w, int *h) {
    // Header parse for PNG, JPEG and BMP; TIFF (and anything odd) falls back to a decode.
    FILE *f = fopen(path, "rb");
    if (!f)
        return ad_error("%s: expected a PNG/JPEG/BMP/TIFF image, but the file cannot be opened (%s). %s",
                        path, strerror(errno), FIX_READ);
    unsigned char b[32];
    size_t n = fread(b, 1, sizeof b, f);
    Fmt fmt = sniff(b, n);
    int ok = 0;
    if (fmt == FMT_PNG && n >= 24 && !memcmp(b + 12, "IHDR", 4)) {
        uint32_t ww = be32(b + 16), hh = be32(b + 20);
        if (ww > 0 && hh > 0 && ww < (1u << 30) && hh < (1u << 30)) { *w = (int)ww; *h = (int)hh; ok = 1; }
    } else if (fmt == FMT_BMP && n >= 26) {
        int64_t ww = 0, hh = 0;
        header_dims(b, n, fmt, &ww, &hh);  // 64-bit: -(-2^31) overflowed an int
        if (ww > 0 && hh > 0 && ww < (1 << 30) && hh < (1 << 30)) { *w = (int)ww; *h = (int)hh; ok = 1; }
    } else if (fmt == FMT_JPEG) {
        // Walk the marker segments up to the first SOFn.
        long pos = 2;
        while (!ok) {
            unsigned char mk[9];
            if (fseek(f, pos, SEEK_SET) || fread(mk, 1, 4, f) != 4 || mk[0] != 0xFF) break;
            int m = mk[1];
            if (m == 0xFF) { pos++; continue; }  // fill byte
            int len = mk[2] << 8 | mk[3];
            bool sof = m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC;
            if (sof) {
                if (fread(mk + 4, 1, 5, f) != 5) break;
                int hh = mk[5] << 8 | mk[6], ww = mk[7] << 8 | mk[8];
                if (ww > 0 && hh > 0) { *w = ww; *h = hh; ok = 1; }
                break;
            }
            if (m == 0xDA || m == 0xD9 || len < 2) break;
            pos += 2 + len;
        }
    }
    fclose(f);
    if (ok && check_pixels(path, fmt, *w, *h)) return -1;
    if (ok) return 0;
    cv::Mat m;
    if (decode(path, m, nullptr)) return -1;
    *w = m.cols;
    *h = m.rows;
    return 0;
}

// --- PIL's forced NEAREST ------------------------------------------------------------------
// Pillow's Image.resize replaces any filter by NEAREST for mode "1" and "P" images. Which mode
// Image.open gives is read from the header, following Pillow 9.4's plugins:
//   PNG: colour type 3 -> "P"; gray with bit depth 1 -> "1".
//   BMP (<= 8 bits): palette entries i equal to gray (0/255 for 2 colours, i otherwise) -> "1"
//        (2 colours) or "L", else "P".
//   TIFF (first IFD): PhotometricInterpretation 3 -> "P"; BitsPerSample 1 (photometric 0/1) -> "1".
//   JPEG: never.
namespace {
uint16_t rd16(const unsigned char *p, bool le) { return le ? (uint16_t)(p[0] | p[1] << 8) : (uint16_t)(p[0] << 8 | p[1]); }
uint32_t rd32(const unsigned char *p, bool le) {
    return le ? (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24 : be32(p);
}
}  // namespace

int image_pil_forces_nearest(const char *path) {
    std::vector<unsigned char> b;
    if (read_all(path, b)) return -1;
    Fmt fmt = sniff(b.data(), b.size());
    size_t n = b.size();
    auto bad = [&](const char *what) {
        return ad_error("%s: expected a %s image with a readable header, found %s. Fix: re-export the file",
                        path, fmt_name(fmt), what);
    };
    switch (fmt) {
    case FMT_PNG: {
        if (n < 33 || memcmp(&b[12], "IHDR", 4)) return bad("no IHDR chunk");
        int depth = b[24], ctype = b[25];
        return ctype == 3 || (ctype == 0 && depth == 1);
    }
    case FMT_JPEG: return 0;
    case FMT_BMP: {
        if (n < 30) return bad("a truncated header");
        uint32_t hsize = (uint32_t)le32(&b[14]);
        int bits = hsize == 12 ? rd16(&b[24], true) : rd16(&b[28], true);
        if (bits > 8) return 0;
        uint32_t colors = hsize >= 40 && n >= 50 ? (uint32_t)le32(&b[46]) : 0;
        if (!colors) colors = 1u << bits;
        size_t pad = hsize == 12 ? 3 : 4, pal = 14 + (size_t)hsize;
        if (colors > 256 || pal + pad * colors > n) return bad("a truncated palette");
        for (uint32_t i = 0; i < colors; i++) {
            unsigned v = colors == 2 ? (i ? 255u : 0u) : i;
            const unsigned char *e = &b[pal + pad * i];
            if (e[0] != v || e[1] != v || e[2] != v) return 1;  // "P"
        }
        return colors == 2;  // gray palette: "1" (2 colours) or "L"
    }
    case FMT_TIFF: {
        bool le = b[0] == 'I';
        if (n < 8) return bad("a truncated header");
        uint32_t off = rd32(&b[4], le);
        if ((uint64_t)off + 2 > n) return bad("an IFD offset past the end");
        unsigned cnt = rd16(&b[off], le);
        if ((uint64_t)off + 2 + 12ull * cnt > n) return bad("a truncated IFD");
        unsigned bps = 1, photo = 0;
        for (unsigned i = 0; i < cnt; i++) {
            const unsigned char *e = &b[off + 2 + 12 * i];
            unsigned tag = rd16(e, le), typ = rd16(e + 2, le);
            uint32_t count = rd32(e + 4, le);
            // SHORT values sit in the entry when they fit; BitsPerSample of RGB is an offset.
            unsigned v = typ == 3 ? rd16(e + 8, le) : rd32(e + 8, le);
            if (tag == 258) {
                if (typ == 3 && count > 2) {
                    uint32_t o = rd32(e + 8, le);
                    v = (uint64_t)o + 2 <= n ? rd16(&b[o], le) : 8;
                }
                bps = v;
            }
            if (tag == 262) photo = v;
        }
        return photo == 3 || (bps == 1 && photo <= 1);
    }
    default: {
        char magic[64];
        describe_magic(magic, sizeof magic, b.data(), n);
        return ad_error("%s: expected a PNG/JPEG/BMP/TIFF image, found a file starting with '%s' (%zu bytes). "
                        "Fix: convert it to PNG", path, magic, n);
    }
    }
}

int mask_read(const char *path, ImageU8 *out) {
    cv::Mat m;
    if (decode(path, m, nullptr)) return -1;
    int w = m.cols, h = m.rows, c = m.channels();
    uint8_t *dst = (uint8_t *)ad_malloc((size_t)w * h);
    bool d8 = m.depth() == CV_8U;
    // Alpha (the last channel of 2/4-channel files) is not a label: only colour channels count.
    int nc = c == 2 ? 1 : (c == 4 ? 3 : c);
    for (int y = 0; y < h; y++) {
        uint8_t *d = dst + (size_t)y * w;
        for (int x = 0; x < w; x++) {
            if (c == 1) {
                // Raw values; 16-bit clipped to 255 as PIL's convert("L") does (keeps nonzero-ness).
                unsigned v = d8 ? m.ptr<uint8_t>(y)[x] : m.ptr<uint16_t>(y)[x];
                d[x] = (uint8_t)(v > 255 ? 255 : v);
            } else {
                unsigned any = 0;
                for (int k = 0; k < nc; k++) any |= d8 ? m.ptr<uint8_t>(y)[c * x + k] : m.ptr<uint16_t>(y)[c * x + k];
                d[x] = any ? 255 : 0;
            }
        }
    }
    out->w = w;
    out->h = h;
    out->c = 1;
    out->data = dst;
    return 0;
}

int image_write_png(const char *path, const ImageU8 *img) {
    quiet_opencv();
    if (check_dims(img, path, "image")) return -1;
    cv::Mat src(img->h, img->w, img->c == 1 ? CV_8UC1 : CV_8UC3, img->data), m;
    if (img->c == 3) cv::cvtColor(src, m, cv::COLOR_RGB2BGR);
    else m = src;
    return encode_png(path, m);
}

int image_write_overlay_png(const char *path, const ImageU8 *img, const float *map, int mw, int mh,
                            float lo, float hi) {
    quiet_opencv();
    if (check_dims(img, path, "image")) return -1;
    if (!map || mw <= 0 || mh <= 0)
        return ad_error("%s: expected an anomaly map with positive size, found %dx%d", path, mw, mh);
    try {
        cv::Mat fm(mh, mw, CV_32FC1, (void *)map), up;
        // cv2.resize INTER_LINEAR = half-pixel centres (align_corners=False).
        cv::resize(fm, up, cv::Size(img->w, img->h), 0, 0, cv::INTER_LINEAR);
        cv::Mat u8(img->h, img->w, CV_8UC1);
        double span = (double)hi - (double)lo;
        for (int y = 0; y < img->h; y++) {
            const float *s = up.ptr<float>(y);
            uint8_t *d = u8.ptr<uint8_t>(y);
            for (int x = 0; x < img->w; x++) {
                double t = span > 0 ? ((double)s[x] - lo) / span : 0.0;
                if (!(t > 0)) t = 0;  // also NaN -> 0
                if (t > 1) t = 1;
                d[x] = (uint8_t)lrint(t * 255.0);
            }
        }
        cv::Mat heat, base, out;
        cv::applyColorMap(u8, heat, cv::COLORMAP_JET);  // BGR
        cv::Mat src(img->h, img->w, img->c == 1 ? CV_8UC1 : CV_8UC3, img->data);
        cv::cvtColor(src, base, img->c == 1 ? cv::COLOR_GRAY2BGR : cv::COLOR_RGB2BGR);
        cv::addWeighted(base, 0.5, heat, 0.5, 0.0, out);
        return encode_png(path, out);
    } catch (const cv::Exception &e) {
        return ad_error("%s: expected to render a heatmap overlay, OpenCV failed (%s)", path, cv_text(e).c_str());
    }
}

void image_rotate_u8(ImageU8 *out, const ImageU8 *in, double deg) {
    // AnomalyDINO src/utils.py::rotate_image: centre (w/2, h/2), cv2.warpAffine INTER_LINEAR,
    // BORDER_DEFAULT (= BORDER_REFLECT_101), same canvas.
    quiet_opencv();
    AD_ASSERT(in && in->data && in->w > 0 && in->h > 0 && in->c >= 1 && in->c <= 4);
    size_t n = (size_t)in->w * in->h * in->c;
    uint8_t *dst = (uint8_t *)ad_malloc(n);
    try {
        int type = CV_MAKETYPE(CV_8U, in->c);
        cv::Mat src(in->h, in->w, type, in->data), d(in->h, in->w, type, dst);
        cv::Mat rot = cv::getRotationMatrix2D(cv::Point2f((float)(in->w / 2.0), (float)(in->h / 2.0)), deg, 1.0);
        cv::warpAffine(src, d, rot, cv::Size(in->w, in->h), cv::INTER_LINEAR, cv::BORDER_REFLECT_101);
        AD_ASSERT(d.data == dst);
    } catch (const cv::Exception &e) {
        AD_INTERNAL("cv::warpAffine failed: %s", cv_text(e).c_str());
    }
    out->w = in->w;
    out->h = in->h;
    out->c = in->c;
    out->data = dst;
}

void image_resize_linear_cv(float *out, int oh, int ow, const float *in, int ih, int iw) {
    // cv2.resize(map, (ow, oh), interpolation=cv2.INTER_LINEAR) on a float32 map, as AnomalyDINO's
    // dists2map does: OpenCV itself, so it is cv2 by construction.
    quiet_opencv();
    AD_ASSERT(out && in && oh > 0 && ow > 0 && ih > 0 && iw > 0);
    try {
        cv::Mat src(ih, iw, CV_32FC1, (void *)in), dst(oh, ow, CV_32FC1, out);
        cv::resize(src, dst, cv::Size(ow, oh), 0, 0, cv::INTER_LINEAR);
        AD_ASSERT(dst.data == (uchar *)out);
    } catch (const cv::Exception &e) {
        AD_INTERNAL("cv::resize failed: %s", cv_text(e).c_str());
    }
}

void image_u8_free(ImageU8 *im) {
    if (!im) return;
    free(im->data);
    im->data = NULL;
    im->w = im->h = im->c = 0;
}

void image_f_free(ImageF *im) {
    if (!im) return;
    free(im->data);
    im->data = NULL;
    im->w = im->h = im->c = 0;
}

}  // extern "C"
