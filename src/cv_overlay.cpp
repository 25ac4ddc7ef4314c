// Drawing primitives over OpenCV for the overlay pictures (overlay_draw.h). Canvases are RGB;
// OpenCV only sees them as 3-channel Mats, so colours are passed through unswapped.
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>
#include <vector>

extern "C" {
#include "err.h"
#include "overlay_draw.h"
}

namespace {
cv::Mat canvas(ImageU8 *im) {
    AD_ASSERT(im && im->data && im->c == 3 && im->w > 0 && im->h > 0);
    return cv::Mat(im->h, im->w, CV_8UC3, im->data);
}
cv::Scalar colour(const uint8_t rgb[3]) { return cv::Scalar(rgb[0], rgb[1], rgb[2]); }
}  // namespace

extern "C" {

void draw_blend(ImageU8 *dst, int x0, int y0, const ImageU8 *top, double alpha) {
    cv::Mat d = canvas(dst);
    AD_ASSERT(top && top->c == 3 && x0 >= 0 && y0 >= 0 && x0 + top->w <= dst->w && y0 + top->h <= dst->h);
    cv::Mat t(top->h, top->w, CV_8UC3, top->data), roi = d(cv::Rect(x0, y0, top->w, top->h));
    cv::addWeighted(roi, 1.0 - alpha, t, alpha, 0.0, roi);
}

int draw_mask_contour(ImageU8 *dst, int x0, int y0, const uint8_t *mask, int w, int h, int k, const uint8_t rgb[3],
                      int thickness) {
    cv::Mat d = canvas(dst);
    cv::Mat m(h, w, CV_8UC1, (void *)mask), bin;
    cv::compare(m, 0, bin, cv::CMP_GT);
    std::vector<std::vector<cv::Point>> cs;
    cv::findContours(bin, cs, cv::RETR_LIST, cv::CHAIN_APPROX_NONE);
    if (cs.empty()) return 0;
    // Contour points are the mask's edge pixels; enlarged pictures put them at the centre of
    // the k x k block, so the line stays on the edge.
    for (auto &c : cs)
        for (auto &p : c) p = cv::Point(x0 + p.x * k + k / 2, y0 + p.y * k + k / 2);
    cv::drawContours(d, cs, -1, colour(rgb), thickness, cv::LINE_8);
    return (int)cs.size();
}

void draw_text(ImageU8 *dst, int x, int y, const char *text, double scale, const uint8_t rgb[3], int thickness) {
    cv::Mat d = canvas(dst);
    cv::putText(d, text, cv::Point(x, y), cv::FONT_HERSHEY_SIMPLEX, scale, colour(rgb), thickness, cv::LINE_AA);
}

void draw_text_size(const char *text, double scale, int thickness, int *w, int *h) {
    int base = 0;
    cv::Size s = cv::getTextSize(text, cv::FONT_HERSHEY_SIMPLEX, scale, thickness, &base);
    *w = s.width, *h = s.height;
}

void draw_rect(ImageU8 *dst, int x0, int y0, int x1, int y1, const uint8_t rgb[3], int filled) {
    cv::Mat d = canvas(dst);
    cv::rectangle(d, cv::Point(x0, y0), cv::Point(x1, y1), colour(rgb), filled ? cv::FILLED : 1, cv::LINE_8);
}

}  // extern "C"
