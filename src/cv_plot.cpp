// Plot text over OpenCV (plot_draw.h): putText into a coverage mask, then blended into the
// RGB canvas, so text keeps its anti-aliasing on any background and can be turned 90 degrees.
// No C++ exception crosses into C: OpenCV errors here can only be bugs, reported as internal.
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include <string>

extern "C" {
#include "err.h"
#include "plot_draw.h"
}

namespace {

int font_of(int bold) { return bold ? cv::FONT_HERSHEY_DUPLEX : cv::FONT_HERSHEY_SIMPLEX; }
int thick_of(double scale) { return scale >= 0.75 ? 2 : 1; }

// Hershey fonts draw '?' for bytes >= 128: keep ASCII, replace the rest once per character.
std::string ascii_only(const char *text) {
    std::string s;
    for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
        if (*p < 128) s += (char)*p;
        else if ((*p & 0xC0) != 0x80) s += '?';  // lead byte of a UTF-8 sequence
    }
    return s;
}

}  // namespace

extern "C" {

void plot_draw_text_size(const char *text, double scale, int bold, int *w, int *h, int *below) {
    int base = 0;
    cv::Size s = cv::getTextSize(ascii_only(text), font_of(bold), scale, thick_of(scale), &base);
    if (w) *w = s.width;
    if (h) *h = s.height;
    if (below) *below = base;
}

void plot_draw_text(ImageU8 *dst, int x, int y, const char *text, double scale, int bold, const uint8_t rgb[3],
                    int vertical) {
    AD_ASSERT(dst && dst->c == 3 && dst->data);
    std::string s = ascii_only(text);
    if (s.empty()) return;
    try {
        int base = 0, th = thick_of(scale);
        cv::Size ts = cv::getTextSize(s, font_of(bold), scale, th, &base);
        int pad = th + 1, mw = ts.width + 2 * pad, mh = ts.height + base + 2 * pad;
        cv::Mat mask = cv::Mat::zeros(mh, mw, CV_8UC1);
        cv::putText(mask, s, cv::Point(pad, pad + ts.height), font_of(bold), scale, cv::Scalar(255), th, cv::LINE_AA);
        // top-left corner of the mask on the canvas
        int ox = x - pad, oy = y - pad - ts.height;
        if (vertical) {
            cv::Mat r;
            cv::rotate(mask, r, cv::ROTATE_90_COUNTERCLOCKWISE);
            mask = r;
            ox = x - mask.cols / 2, oy = y - mask.rows / 2;
        }
        cv::Mat canvas(dst->h, dst->w, CV_8UC3, dst->data);
        for (int r = 0; r < mask.rows; r++) {
            int cy = oy + r;
            if (cy < 0 || cy >= dst->h) continue;
            const uint8_t *m = mask.ptr<uint8_t>(r);
            uint8_t *o = canvas.ptr<uint8_t>(cy);
            for (int c = 0; c < mask.cols; c++) {
                int cx = ox + c;
                if (!m[c] || cx < 0 || cx >= dst->w) continue;
                for (int k = 0; k < 3; k++)
                    o[3 * cx + k] = (uint8_t)((o[3 * cx + k] * (255 - m[c]) + rgb[k] * m[c] + 127) / 255);
            }
        }
    } catch (const cv::Exception &e) {
        AD_INTERNAL("OpenCV putText failed: %s", e.what());
    }
}

}  // extern "C"
