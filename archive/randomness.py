"""Random bytes for record salts, ids and tokens, drawn from the kernel's CSPRNG a page at a time.

``os.urandom`` is a system call that releases the GIL, and an accepted message needs about ten random values:
each call was a moment the event loop's thread could lose the GIL to the archive's writer thread and wait
for it. The bytes are the kernel's all the same, each handed out once; the page is per thread (no lock)
and per process (a forked child draws its own, never its parent's).
"""

from __future__ import annotations

import os
import threading

_PAGE = 4096


class _Page(threading.local):
    pid = -1
    data = b""
    used = 0


_page = _Page()


def random_bytes(count: int) -> bytes:
    page = _page
    if page.pid != os.getpid() or page.used + count > len(page.data):
        page.data, page.used, page.pid = os.urandom(max(_PAGE, count)), 0, os.getpid()
    start = page.used
    page.used = start + count
    return page.data[start : start + count]
