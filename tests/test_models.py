"""Ids: time-ordered (ULID layout, Crockford base32) and unguessable."""

from __future__ import annotations

from unittest import mock

from gateway import models
from gateway.models import new_id


def test_an_id_spells_its_milliseconds_then_its_random_bits_in_crockford_base32() -> None:
    with (
        mock.patch.object(models.time, "time_ns", return_value=1_764_000_000_000_123_456),
        mock.patch.object(models, "random_bytes", side_effect=lambda n: bytes(range(1, n + 1))),
    ):
        assert new_id("m-") == "m-01kav9ft00041061050r3gg28a"


def test_ids_sort_by_the_millisecond_they_were_made_in() -> None:
    with mock.patch.object(models.time, "time_ns", side_effect=[2_000_000_000, 1_000_000_000]):
        later, earlier = new_id("d-"), new_id("d-")
    assert earlier < later and len(earlier) == len(later) == 28
    assert len({new_id("m-") for _ in range(1000)}) == 1000
