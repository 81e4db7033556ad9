"""The process's malloc, set before any thread allocates (the `qbo` command's first step).

glibc gives each thread that allocates an arena of its own, up to 8 a core, and gives little of it back.
A sync's scan workers each decode pages: a medium company's full sync peaked at 944 MiB resident, and
at 762 MiB with two arenas, as fast (bench/sync_bench.py --company medium). The limit holds only when
set before the threads start: `mallopt` later is too late, which is why the command sets it first.
"""

from __future__ import annotations

import ctypes
import os

M_ARENA_MAX = -8  # glibc's mallopt parameter (malloc.h)


def fewer_malloc_arenas(arenas: int = 2) -> bool:
    """At most `arenas` malloc arenas; False where the C library is not glibc, or where the
    environment already chose (MALLOC_ARENA_MAX)."""
    if "MALLOC_ARENA_MAX" in os.environ:
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(M_ARENA_MAX, arenas))
