"""The archive's JSON API, on both stores: its OpenAPI document is valid OpenAPI 3.1 and every answer in
these tests is validated against it; HTTP Basic sign-in with each person's own password, throttled; the
portal's windows; a supervisor's verdict releases a held message downstream."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import jsonschema
import pytest
from openapi_spec_validator import validate

from gateway.directory import Directory
from tests.conftest import PASSWORD, Downstream
from tests.portal import BROOKS, KIM, PRIYA, REYES, PortalRelay, started


@pytest.fixture
async def portal(tmp_path: Path, downstream: Downstream, directory: Directory) -> AsyncIterator[PortalRelay]:
    async for running in started(tmp_path, downstream, directory):
        yield running


class Api:
    """Calls /api/v1 and checks each answer against the relay's own OpenAPI document."""

    def __init__(self, portal: PortalRelay, document: dict[str, Any]) -> None:
        self.root = f"http://127.0.0.1:{portal.relay.port('web')}"
        self.document = document

    async def call(
        self, method: str, path: str, template: str, email: str, password: str = PASSWORD, **options: Any
    ) -> tuple[int, Any]:
        signed = {"Authorization": aiohttp.encode_basic_auth(email, password)}
        async with (
            aiohttp.ClientSession() as client,
            client.request(method, f"{self.root}{path}", headers=signed, **options) as answer,
        ):
            body = await answer.json()
        responses = self.document["paths"][template][method.lower()]["responses"]
        assert str(answer.status) in responses, f"{answer.status} is not documented for {method} {template}"
        schema = responses[str(answer.status)]["content"]["application/json"]["schema"]
        jsonschema.validate(body, {**schema, "components": self.document["components"]})
        return answer.status, body


@pytest.fixture
async def api(portal: PortalRelay) -> Api:
    async with aiohttp.ClientSession() as client:
        async with client.get(f"http://127.0.0.1:{portal.relay.port('web')}/api/v1/openapi.json") as answer:
            document = await answer.json()
    validate(document)  # OpenAPI 3.1, or this raises
    return Api(portal, document)


async def test_search_and_threads_hold_each_persons_window(api: Api) -> None:
    status, found = await api.call("GET", "/api/v1/search?q=bus", "/api/v1/search", REYES)
    assert status == 200 and [m["subject"] for m in found["messages"]] == ["Field trip"]
    thread = found["messages"][0]["thread"]
    status, whole = await api.call("GET", f"/api/v1/threads/{thread}", "/api/v1/threads/{thread}", PRIYA)
    assert status == 200 and whole["messages"][0]["text"].startswith("The bus leaves at seven.")
    assert whole["messages"][0]["findings"] == []  # a guardian sees no policy findings
    status, _ = await api.call("GET", "/api/v1/search?since=soon", "/api/v1/search", REYES)
    assert status == 400
    status, mine = await api.call("GET", "/api/v1/search", "/api/v1/search", PRIYA)
    assert [m["subject"] for m in mine["messages"]] == ["Field trip"]


async def test_sign_in_is_required_and_throttled(api: Api, portal: PortalRelay) -> None:
    status, _ = await api.call("GET", "/api/v1/search", "/api/v1/search", REYES, "wrong")
    assert status == 401
    for _ in range(portal.relay.settings.smtp.auth_failures_per_address - 1):
        await api.call("GET", "/api/v1/search", "/api/v1/search", REYES, "wrong")
    status, _ = await api.call("GET", "/api/v1/search", "/api/v1/search", REYES)
    assert status == 429


async def test_a_supervisor_decides_through_the_api(api: Api, portal: PortalRelay) -> None:
    status, _ = await api.call("GET", "/api/v1/reviews", "/api/v1/reviews", REYES)
    assert status == 403
    status, queue = await api.call("GET", "/api/v1/reviews", "/api/v1/reviews", BROOKS)
    [held] = queue["reviews"]
    assert held["subject"] == "Your essay" and held["severity"] == 3 and held["alerted"]
    path, template = f"/api/v1/reviews/{held['message_id']}", "/api/v1/reviews/{message_id}"
    status, refused = await api.call("POST", path, template, BROOKS, json={"verdict": "approve"})
    assert status == 400 and "comment" in refused["error"]
    status, _ = await api.call("POST", path, template, REYES, json={"verdict": "approve", "comment": "mine"})
    assert status == 404  # not a supervisor: not in any review queue of theirs
    before = len(portal.downstream.received)
    status, decided = await api.call(
        "POST", path, template, BROOKS, json={"verdict": "approve", "comment": "ok"}
    )
    assert status == 200 and decided["state"] == "approved"
    await portal.downstream.wait_for(before + 1)
    assert any(KIM in r.rcpt_tos for r in portal.downstream.received[before:])
    status, again = await api.call(
        "POST", path, template, BROOKS, json={"verdict": "reject", "comment": "no"}
    )
    assert status == 409 and "already approved" in again["error"]
