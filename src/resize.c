// PLACEHOLDER: Pillow-exact resize (being written by the image helper).
#include "err.h"
#include "image.h"

void pil_resize_u8(ImageU8 *out, const ImageU8 *in, int out_w, int out_h, Resample filter) {
    (void)out; (void)in; (void)out_w; (void)out_h; (void)filter;
    AD_INTERNAL("pil_resize_u8 not implemented yet");
}
