// Image layer on arbitrary bytes: sniffing, truncation checks, header sizes, the pixel limit,
// silent libjpeg, OpenCV decode, mask reading and PIL-mode detection.
#include <stdlib.h>
#include <unistd.h>

#include "err.h"
#include "fuzz.h"
#include "image.h"

FUZZ_TARGET(image) {
    const char *p = fuzz_tmp_file("img", ".img", data, size);
    setenv("ADBENCH_MAX_PIXELS", "4000000", 0);  // keep each input cheap
    ImageU8 im;
    ImageF f;
    int w, h;
    if (!image_read_rgb8(p, &im)) image_u8_free(&im);
    if (!image_read_rgbf(p, &f)) image_f_free(&f);
    if (!mask_read(p, &im)) image_u8_free(&im);
    (void)image_size(p, &w, &h);
    (void)image_pil_forces_nearest(p);
    ad_clear_error();
    unlink(p);
    return 0;
}
