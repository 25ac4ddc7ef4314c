#!/usr/bin/python3
"""Writes tests/golden/npy/: .npy files made by numpy itself, good and bad, for tests/test_npy.c."""
import os
import numpy as np

out = os.path.join(os.path.dirname(__file__), "..", "golden", "npy")
os.makedirs(out, exist_ok=True)
np.save(f"{out}/f64_2x3.npy", np.arange(6, dtype=np.float64).reshape(2, 3) + 0.5)
np.save(f"{out}/bool_4.npy", np.array([False, True, True, False]))
np.save(f"{out}/fortran.npy", np.asfortranarray(np.ones((3, 2), np.float32)))
np.save(f"{out}/complex.npy", np.ones(3, np.complex64))
np.save(f"{out}/bigendian.npy", np.ones(3, ">f4"))
with open(f"{out}/v2_i64.npy", "wb") as f:
    np.lib.format.write_array(f, np.array([1, 2, -3], np.int64), version=(2, 0))
np.save(f"{out}/truncated.npy", np.ones(100, np.float32))
with open(f"{out}/truncated.npy", "r+b") as f:
    f.truncate(200)
with open(f"{out}/not_npy.npy", "wb") as f:
    f.write(b"PK\x03\x04 this is a zip, not an npy")
