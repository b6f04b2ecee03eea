"""Random bytes drawn a page at a time: each handed out once, in each thread and each process."""

from __future__ import annotations

import os
import threading

from archive.randomness import random_bytes


def test_every_draw_is_new_and_of_the_size_asked() -> None:
    draws = [random_bytes(16) for _ in range(2_000)]  # several pages
    assert all(len(d) == 16 for d in draws) and len(set(draws)) == len(draws)
    assert len(random_bytes(10_000)) == 10_000  # more than a page at once


def test_threads_draw_from_pages_of_their_own() -> None:
    drawn: list[bytes] = []
    workers = [
        threading.Thread(target=lambda: drawn.extend(random_bytes(16) for _ in range(300))) for _ in range(4)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert len(set(drawn)) == len(drawn) == 1_200


def test_a_forked_process_never_draws_its_parents_bytes() -> None:
    random_bytes(16)  # the parent holds a page with bytes left on it
    reading, writing = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - the child's side
        os.write(writing, random_bytes(16))
        os._exit(0)
    os.close(writing)
    childs = os.read(reading, 16)
    os.waitpid(child, 0)
    assert childs != random_bytes(16)
