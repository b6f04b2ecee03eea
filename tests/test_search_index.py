"""The search index on both stores, through the store interface: whatever a search box is given, a search
answers (no query syntax leaks through to FTS5 or tsquery), and words match whole, across accents."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from archive.changes import Changes
from archive.models import SearchEntry
from archive.store import Store
from gateway.archive_reader import search_query


async def index(store: Store, message_id: str, subject: str, body: str) -> None:
    changes = Changes()
    changes.index_message(
        SearchEntry(
            message_id,
            "2026-12-05T10:00:00.000000+00:00",
            "email",
            "from_staff",
            "deliver",
            (),
            "t-reyes",
            ("person:t-reyes",),
            message_id,
            subject,
            body,
            "",
        )
    )
    await store.commit(changes)


async def test_words_match_whole_and_across_accents(store: Store) -> None:
    await index(store, "m-1", "Excursión", "El autobús sale a las siete.")
    await index(store, "m-2", "Field trip", "The bus leaves at seven.")
    found = [h.message_id for h in await store.search(search_query({"q": "autobus"}))]
    assert found == ["m-1"]
    assert [h.message_id for h in await store.search(search_query({"q": "bus"}))] == ["m-2"]
    assert [h.message_id for h in await store.search(search_query({"q": '"leaves at"'}))] == ["m-2"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(max_size=60))
async def test_any_search_box_text_is_answered(store: Store, text: str) -> None:
    asked = {name: text for name in ("q", "staff", "school", "channel", "category", "thread")}
    await store.search(search_query(asked))
