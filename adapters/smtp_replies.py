"""Every SMTP reply Chaperone gives, in one table used by code and tests alike.

RFC 3463 enhanced status codes on every reply (advertised as ENHANCEDSTATUSCODES). aiosmtpd's built-in
replies that lack one are rewritten through ``BUILTIN`` on their way out.
"""

from __future__ import annotations

import re
from typing import Any

SENDER_OK = "250 2.1.0 Sender OK"
RECIPIENT_OK = "250 2.1.5 Recipient OK"
AUTH_REQUIRED = "530 5.7.0 Authentication required"
BAD_CREDENTIALS = "535 5.7.8 Authentication credentials invalid"
NOT_YOUR_ADDRESS = "553 5.7.1 {reason}"
NOT_ON_ROSTER = (
    "550 5.1.1 <{address}>: not on the district roster; Chaperone delivers only to rostered people"
)
NO_SUCH_CONVERSATION = "550 5.1.1 <{address}>: no such conversation"
# Beside NO_SUCH_CONVERSATION: the address existed, and says why it no longer works.
CONVERSATION_EXPIRED = (
    "550 5.1.1 <{address}>: this conversation address expired after {days:g} days without a message;"
    " please reply to a newer message from the school"
)
RELAY_DENIED = "550 5.7.1 <{address}>: relay access denied; this server accepts mail only for {domain}"
NOT_A_PARTICIPANT = "550 5.7.1 {reason}"
TOO_MANY_RECIPIENTS = "452 4.5.3 Too many recipients (at most {limit} per message)"
TOO_BIG = "552 5.3.4 Message too big (at most {limit} bytes)"
BLOCKED = "550 5.7.1 {reason}"
MALFORMED_HEADER = "554 5.6.0 Malformed message header: {reason}"
INTERNAL_ERROR = "451 4.3.0 Internal error; please try again later"
ROSTER_CHANGED = "451 4.7.1 The district roster changed during this message; please send it again"
ACCEPTED = "250 2.0.0 Accepted as {message_id}{note}"

# aiosmtpd's own replies, as it writes them, and what we send instead.
BUILTIN = {
    "250 OK": "250 2.0.0 OK",
    "221 Bye": "221 2.0.0 Bye",
    "503 Error: need MAIL command": "503 5.5.1 Error: need MAIL command",
    "503 Error: need RCPT command": "503 5.5.1 Error: need RCPT command",
    "503 Error: nested MAIL command": "503 5.5.1 Error: nested MAIL command",
    "503 Error: send HELO first": "503 5.5.1 Error: send HELO first",
    "500 Error: bad syntax": "500 5.5.2 Error: bad syntax",
    "552 Error: Too much mail data": "552 5.3.4 Message too big",
    "552 Error: message size exceeds fixed maximum message size": "552 5.3.4 Message too big",
    "554 Command refused due to lack of security": "554 5.7.0 Command refused due to lack of security",
    "421 Too many connections": "421 4.7.0 Too many connections",
    "220 Ready to start TLS": "220 2.0.0 Ready to start TLS",
}
# The last line of the EHLO reply: a keyword line, which carries no enhanced code (RFC 2034 section 3);
# "250 2.0.0 HELP" reads to a client as an extension named "2".
_EHLO_LAST_LINE = "250 HELP"

_HAS_ENHANCED = re.compile(r"^\d{3}[ -]\d\.\d{1,3}\.\d{1,3}\b")
_CLASS_DEFAULT = {"2": "2.0.0", "4": "4.0.0", "5": "5.0.0"}


def enhance(status: str) -> str:
    """Give a single-line reply an enhanced code if it has none (greetings and 334/354 have none)."""
    if status in BUILTIN:
        return BUILTIN[status]
    if status == _EHLO_LAST_LINE:
        return status
    if _HAS_ENHANCED.match(status) or len(status) < 4 or status[3] != " ":
        return status  # already coded, or a continuation line of a multi-line reply (EHLO)
    code = status[:3]
    if code in ("220", "334", "354") or code[0] not in _CLASS_DEFAULT:
        return status
    return f"{code} {_CLASS_DEFAULT[code[0]]} {status[4:]}"


class EnhancedStatusCodes:
    """Handler mixin: advertise ENHANCEDSTATUSCODES in the EHLO response (RFC 2034), and AUTH only
    where the handler authenticates anyone (``offers_auth``)."""

    offers_auth = True

    async def handle_EHLO(
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        session.host_name = hostname
        keywords = [line for line in responses[:-1] if self.offers_auth or not line.startswith("250-AUTH")]
        return [*keywords, "250-ENHANCEDSTATUSCODES", responses[-1]]
