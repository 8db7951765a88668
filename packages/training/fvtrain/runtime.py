"""Process-level tuning for CPU training."""
from __future__ import annotations

import ctypes
import ctypes.util

# glibc mallopt parameters (malloc.h)
_M_TRIM_THRESHOLD = -1
_M_TOP_PAD = -2
_M_MMAP_MAX = -4


def keep_freed_memory() -> bool:
    """Stop glibc from handing every freed activation buffer back to the kernel.

    By default glibc serves large blocks with mmap and unmaps them on free, so each training step
    page-faults (and zeroes) its activations again: measured here, a fifth of the CPU time went to
    the kernel. Turning mmap off and raising the trim threshold keeps the memory in the heap for
    reuse. Returns False where the C library has no mallopt (not glibc)."""
    name = ctypes.util.find_library("c")
    if not name:
        return False
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    # No mmap at all: a threshold alone is capped at 32 MB, and a batch of 160 faces at 24 channels
    # is a 45 MB activation.
    ok = mallopt(_M_MMAP_MAX, 0) == 1
    ok = mallopt(_M_TRIM_THRESHOLD, 1 << 30) == 1 and ok
    ok = mallopt(_M_TOP_PAD, 256 * 1024 * 1024) == 1 and ok
    return ok


def resolve_device(name: str):
    """The PyTorch device `name` names (cpu, cuda, cuda:1, ...), or ValueError saying why it
    cannot be used here: an unknown name, or a CUDA device this build or machine does not have."""
    import torch

    try:
        device = torch.device(name)
    except RuntimeError as err:
        raise ValueError(f"--device {name}: {err}") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"--device {name}: this PyTorch build sees no CUDA device")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise ValueError(f"--device {name}: this machine has {torch.cuda.device_count()} CUDA device(s)")
    elif device.type != "cpu":
        raise ValueError(f"--device {name}: only cpu and cuda devices are supported")
    return device
