"""Keep freed memory in the process for reuse instead of handing it back to the OS at every free.

A worker's gradient allocates and frees arrays of 0.1-1 MB many times per call. glibc serves
blocks that size with mmap and returns them on free (its mmap threshold starts at 128 KiB and
its heap trimming is eager), so every allocation pays page faults on fresh zeroed pages. With a
fixed 32 MiB mmap threshold and lazy trimming the blocks are reused from the heap: one worker's
gradients/s with examples/tuned/cartpole*.yaml (256-256 trunk, 256-1,024 samples) rose by
1.17-1.38x in process (`python -m benchmarks.tools.allocator`; small gradients see no difference).
Memory held: the process's high-water mark, not more.
"""

from __future__ import annotations

import ctypes
import ctypes.util

# mallopt parameters, from glibc's malloc.h
M_TRIM_THRESHOLD = -1
M_TOP_PAD = -2
M_MMAP_THRESHOLD = -3

MMAP_THRESHOLD_BYTES = 32 * 1024 * 1024
TRIM_THRESHOLD_BYTES = 128 * 1024 * 1024
TOP_PAD_BYTES = 16 * 1024 * 1024


def keep_freed_memory() -> bool:
    """Tune glibc's malloc for this process; False where there is no glibc (macOS, musl, Windows)."""
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    settings = [
        (M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES),
        (M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES),
        (M_TOP_PAD, TOP_PAD_BYTES),
    ]
    return all(mallopt(param, value) == 1 for param, value in settings)
