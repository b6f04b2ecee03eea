"""The JSON API's bodies (/api/v1): pydantic models at the boundary, and the OpenAPI document they make.

What each model shows is what the portal shows the same person: the gateway decides the window
(gateway.archive_access) and the reader trims a guardian's view (gateway.archive_reader); these models
only translate.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from gateway.archive_reader import ThreadMessage


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class Error(_Out):
    error: str


class MessageFound(_Out):
    message_id: str
    recorded_at: str
    channel: str
    direction: str
    action: str
    categories: list[str]
    sender: str  # a sourcedId
    subject: str
    thread: str


class SearchResults(_Out):
    messages: list[MessageFound]
    next: str | None = Field(description="pass as ?before= for the next, older page")


class Copy(_Out):
    purpose: str
    channel: str
    state: str
    attempts: int


class Party(_Out):
    person_id: str | None
    role: str | None


class ThreadEntry(_Out):
    message_id: str
    recorded_at: str
    channel: str
    sender: Party
    recipients: list[Party]
    subject: str
    text: str
    action: str
    findings: list[dict[str, Any]]
    copies: list[Copy]
    review: str | None = Field(description="pending, approved, rejected or seen; null if never listed")

    @classmethod
    def of(cls, found: ThreadMessage) -> ThreadEntry:
        return cls(
            message_id=found.hit.message_id,
            recorded_at=found.hit.recorded_at,
            channel=found.hit.channel,
            sender=_party(found.sender),
            recipients=[_party(r) for r in found.recipients],
            subject=found.subject,
            text=found.text,
            action=str(found.decision.get("action", found.hit.action)),
            findings=list(found.decision.get("findings") or []),
            copies=[
                Copy(purpose=c.purpose, channel=c.channel, state=c.state, attempts=c.attempts)
                for c in found.copies
            ],
            review=None if found.review is None else found.review.state,
        )


class Thread(_Out):
    thread: str
    messages: list[ThreadEntry]


class Review(_Out):
    message_id: str
    thread: str
    action: str
    severity: int = Field(description="the most severe finding: 3 high, 2 medium, 1 low")
    alerted: bool = Field(description="supervisors and the compliance contact were alerted at once")
    sender: str
    subject: str | None
    reasons: str
    opened_at: str


class Reviews(_Out):
    reviews: list[Review]


class Verdict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    verdict: Literal["approve", "reject", "escalate"]
    comment: str = Field(min_length=1, max_length=2000)


class Decided(_Out):
    message_id: str
    state: str


def problems_of(error: ValidationError) -> str:
    """A request body's problems, each named by where it is."""
    return "; ".join(f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in error.errors())


def _party(party: dict[str, Any]) -> Party:
    return Party(person_id=party.get("person_id"), role=party.get("role"))


_FILTERS = ("q", "staff", "student", "guardian", "school", "channel", "direction", "action", "category",
            "since", "until", "before")  # fmt: skip


def openapi_document() -> dict[str, Any]:
    """The OpenAPI 3.1 description of /api/v1, served at /api/v1/openapi.json."""
    models: list[type[BaseModel]] = [Error, SearchResults, Thread, Reviews, Verdict, Decided]
    schemas: dict[str, Any] = {}
    for model in models:
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(schema.pop("$defs", {}))
        schemas[model.__name__] = schema
    signed = {
        "401": _answer(Error, "not signed in: HTTP Basic with a district e-mail and password"),
        "429": _answer(Error, "too many failed sign-ins"),
    }
    search = _operation(
        "Search the archive within your window, newest first",
        {
            "200": _answer(SearchResults, "what was found"),
            "400": _answer(Error, "a filter could not be read"),
        },
        [_parameter(name, "query") for name in _FILTERS],
    )
    thread = _operation(
        "A conversation, whole, with every copy and its status",
        {"200": _answer(Thread, "the thread"), "404": _answer(Error, "no such thread in your window")},
        [_parameter("thread", "path")],
    )
    reviews = _operation(
        "The review queue (supervisors): held first, then the most severe",
        {"200": _answer(Reviews, "waiting for a verdict"), "403": _answer(Error, "not a supervisor")},
    )
    verdict = _operation(
        "Approve, reject or escalate a held or flagged message",
        {
            "200": _answer(Decided, "decided"),
            "400": _answer(Error, "the verdict could not be read"),
            "404": _answer(Error, "not in your review queue"),
            "409": _answer(Error, "you may not decide on it, or it was decided already"),
        },
        [_parameter("message_id", "path")],
    )
    verdict["requestBody"] = {"required": True, "content": _json(Verdict)}
    for operation in (search, thread, reviews, verdict):
        operation["responses"].update(signed)
    return {
        "openapi": "3.1.0",
        "info": {"title": "Chaperone archive API", "version": "1"},
        "components": {"schemas": schemas, "securitySchemes": {"basic": {"type": "http", "scheme": "basic"}}},
        "security": [{"basic": []}],
        "paths": {
            "/api/v1/search": {"get": search},
            "/api/v1/threads/{thread}": {"get": thread},
            "/api/v1/reviews": {"get": reviews},
            "/api/v1/reviews/{message_id}": {"post": verdict},
        },
    }


def _json(model: type[BaseModel]) -> dict[str, Any]:
    return {"application/json": {"schema": {"$ref": f"#/components/schemas/{model.__name__}"}}}


def _answer(model: type[BaseModel], why: str) -> dict[str, Any]:
    return {"description": why, "content": _json(model)}


def _parameter(name: str, where: str) -> dict[str, Any]:
    return {"name": name, "in": where, "required": where == "path", "schema": {"type": "string"}}


def _operation(
    summary: str, responses: dict[str, Any], parameters: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    return {"summary": summary, "parameters": parameters or [], "responses": responses}
