// .npy reader on arbitrary bytes: header parse, shape overflow, sizes against the file.
#include <stdlib.h>
#include <unistd.h>

#include "err.h"
#include "fuzz.h"
#include "npy.h"

FUZZ_TARGET(npy) {
    const char *p = fuzz_tmp_file("npy", ".npy", data, size);
    NpyArray a;
    if (!npy_read(p, &a)) {
        float *f = npy_as_f32(&a);
        free(f);
        npy_free(&a);
    }
    ad_clear_error();
    unlink(p);
    return 0;
}
