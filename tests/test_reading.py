"""How a received e-mail or text becomes what the policy rules read: the sender's words, the quoted
history, the attachments, the relay's own fields, and a reading for any bytes at all."""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway import reading
from gateway.reading import (
    FILENAME_LIMIT,
    MAX_PICTURED,
    SUBJECT_LIMIT,
    TEXT_LIMIT,
    URGENT_LIMIT,
    budget,
    charsets,
    mime,
    read_email,
    read_sms,
    split_history,
)
from policies.message import Attachment, Message, Party

SENDER = Party("dana.reyes@nusd.example.org", None)
STUDENT = Party("sam.lee@nusd.example.org", None)
RECEIVED = datetime(2026, 10, 6, 20, 14, tzinfo=UTC)


def read(raw: str | bytes) -> Message:
    """Read a message written here with LF line ends and sent, as SMTP does, with CRLF."""
    data = raw.replace("\n", "\r\n").encode("utf-8") if isinstance(raw, str) else raw
    return read_email(data, message_id="m-1", sender=SENDER, recipients=(STUDENT,), received_at=RECEIVED)


def sms(text: str) -> Message:
    return read_sms(text, message_id="s-1", sender=SENDER, recipients=(STUDENT,), received_at=RECEIVED)


def mixed(*parts: str) -> str:
    body = "".join(f"--b1\n{part}\n" for part in parts)
    return (
        f'Subject: parts\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="b1"\n\n{body}--b1--\n'
    )


# --- a plain message -----------------------------------------------------------------------------------


def test_a_plain_message_gives_subject_body_and_the_relays_own_clock() -> None:
    message = read(
        "From: dana.reyes@nusd.example.org\nTo: sam.lee@nusd.example.org\n"
        "Date: Fri, 1 Jan 1999 00:00:00 +0000\nSubject: Lab report\n\nDue Friday.\nBring your notebook.\n"
    )
    assert message.channel == "email"
    assert message.message_id == "m-1"
    assert message.sender == SENDER and message.recipients == (STUDENT,)
    assert message.sent_at == RECEIVED  # not the client's 1999 Date header
    assert message.subject == "Lab report"
    assert message.body == "Due Friday.\nBring your notebook."
    assert message.quoted == "" and message.attachments == ()
    assert message.urgent is None and message.pictured == ()


def test_the_subject_is_decoded_and_on_one_line() -> None:
    message = read("Subject: =?utf-8?q?Caf=C3=A9?=\n =?iso-8859-1?b?IG1lbvo=?=  tomorrow\n\tat noon\n\nhi\n")
    assert message.subject == "Café menú tomorrow at noon"


def test_a_multi_byte_character_split_across_encoded_words_is_joined() -> None:
    message = read("Subject: =?utf-8?b?4oK=?= =?utf-8?b?rA==?= 5\n\nhi\n")  # "€" split after two bytes
    assert message.subject == "€ 5"


def test_an_eight_bit_utf8_subject_is_read_as_utf8() -> None:
    message = read("Subject: Reunión mañana\n\nhi\n")
    assert message.subject == "Reunión mañana"


def test_a_long_subject_is_cut() -> None:
    message = read("Subject: " + "word " * 2000 + "\n\nhi\n")
    assert 0 < len(message.subject) <= SUBJECT_LIMIT


# --- HTML ----------------------------------------------------------------------------------------------


def test_html_only_keeps_link_targets_and_drops_script_and_style() -> None:
    message = read(
        "Subject: hi\nContent-Type: text/html; charset=utf-8\n\n"
        "<html><head><title>Newsletter</title><style>p { color: red }</style></head><body>"
        "<script>document.write('hidden')</script>"
        '<p>Hi Sam &amp; Jo,</p><p>Follow <a href="https://instagram.com/coach.d">my page</a>.</p>'
        "</body></html>\n"
    )
    assert message.body == "Hi Sam & Jo,\n\nFollow my page (https://instagram.com/coach.d)."
    assert "hidden" not in message.text and "color" not in message.text and "Newsletter" not in message.text


def test_html_blocks_become_lines_and_a_link_showing_its_url_is_not_repeated() -> None:
    message = read(
        "Content-Type: text/html\n\n"
        "<div>Line one<br>Line&nbsp;two</div><ul><li>first</li><li>second</li></ul>"
        '<div>See <a href="https://www.nusd.example.org/lab">nusd.example.org/lab</a></div>'
        '<div><a href="mailto:dana.personal@example.com">write me</a> <a href="#top">top</a></div>\n'
    )
    assert message.body.split("\n") == [
        "Line one",
        "Line two",
        "",
        "first",
        "second",
        "",
        "See nusd.example.org/lab",
        "write me (mailto:dana.personal@example.com) top",
    ]


def test_an_unclosed_title_does_not_hide_the_message() -> None:
    message = read(
        "Content-Type: text/html\n\n<html><head><title>x</head><body><p>Meet me after school</p>\n"
    )
    assert message.body == "Meet me after school"


# --- multipart/alternative -----------------------------------------------------------------------------

ALTERNATIVE = """Subject: Practice
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary="alt"

--alt
Content-Type: text/plain; charset=utf-8

Practice moved to 4pm.
--alt
Content-Type: text/html; charset=utf-8

<div>Practice moved to <b>4pm</b>.</div>
--alt--
"""


def test_alternatives_that_say_the_same_are_read_once() -> None:
    assert read(ALTERNATIVE).body == "Practice moved to 4pm."


def test_every_alternative_is_read_when_they_differ() -> None:
    # Hardening: only the plain part was read, and a threat in the HTML one went out unread.
    message = read(
        ALTERNATIVE.replace("<div>Practice moved to <b>4pm</b>.</div>", "<p>You will regret crossing me.</p>")
    )
    assert message.body == "Practice moved to 4pm.\n\nYou will regret crossing me."


def test_every_text_subtype_is_read() -> None:
    message = read(
        mixed(
            "Content-Type: text/plain\n\nNotes below.",
            "Content-Type: text/markdown\n\n**Keep this between us.**",
            'Content-Type: text/plain\nContent-Disposition: inline; filename="x.txt"\n\nDelete this thread.',
        )
    )
    assert "Keep this between us." in message.body and "Delete this thread." in message.body


def test_an_html_comment_inside_a_word_reads_as_the_word() -> None:
    assert read("Content-Type: text/html\n\n<p>I will hu<!-- x -->rt you</p>").body == "I will hurt you"


def test_a_right_to_left_override_is_read_as_displayed() -> None:
    assert read("Subject: x\n\nmeet me \u202eenola\u202c tonight").body == "meet me alone tonight"


def test_alternative_without_plain_text_reads_the_html() -> None:
    message = read(
        mixed(
            'Content-Type: multipart/alternative; boundary="alt"\n\n'
            "--alt\nContent-Type: text/calendar\n\nBEGIN:VCALENDAR\n"
            "--alt\nContent-Type: text/html\n\n<p>Practice moved to <b>4pm</b>.</p>\n--alt--"
        )
    )
    assert message.body == "BEGIN:VCALENDAR\n\nPractice moved to 4pm."  # a client shows an invitation


def test_images_of_the_html_alternative_are_attachments_though_its_text_is_not_read() -> None:
    message = read(
        """Content-Type: multipart/alternative; boundary="alt"

--alt
Content-Type: text/plain

Team photo below.
--alt
Content-Type: multipart/related; boundary="rel"

--rel
Content-Type: text/html

<p>Team photo below.</p><img src="cid:p1">
--rel
Content-Type: image/jpeg
Content-ID: <p1>
Content-Disposition: inline
Content-Transfer-Encoding: base64

/9j/4AAQ
--rel--
--alt--
"""
    )
    assert message.body == "Team photo below."
    assert message.attachments == (Attachment("", "image/jpeg", 6),)
    assert message.attachments[0].is_media


# --- quoted history ------------------------------------------------------------------------------------


def test_lines_starting_with_gt_are_quoted() -> None:
    message = read("Subject: Re: x\n\n> When is it due?\n> Thanks\nFriday.\n")
    assert (message.body, message.quoted) == ("Friday.", "> When is it due?\n> Thanks")


def test_a_gmail_attribution_wrapped_over_two_lines_starts_the_history() -> None:
    message = read(
        "Subject: Re: x\n\nFriday, in room 4.\n\n"
        "On Tue, Oct 6, 2026 at 3:14 PM Sam Lee <sam.lee@nusd.example.org>\nwrote:\n\n"
        "> When is it due?\n"
    )
    assert message.body == "Friday, in room 4."
    assert message.quoted.startswith("On Tue, Oct 6, 2026 at 3:14 PM Sam Lee")
    assert message.quoted.endswith("> When is it due?")


def test_an_answer_below_the_quote_is_the_senders() -> None:
    message = read(
        "Subject: Re: x\n\nOn 10/6/26 3:14 PM, Sam Lee wrote:\n> When is it due?\n\nFriday.\n-- \nMs. Reyes\n"
    )
    assert message.body == "Friday.\n-- \nMs. Reyes"
    assert message.quoted == "On 10/6/26 3:14 PM, Sam Lee wrote:\n> When is it due?"


def test_a_spanish_attribution_starts_the_history() -> None:
    message = read(
        "Subject: Re: x\nContent-Type: text/plain; charset=utf-8\n\nEl viernes.\n\n"
        "El mar, 6 oct 2026 a las 15:14, Ana Ruiz (<ana.ruiz@example.com>) escribió:\n"
        "¿Cuándo es la tarea?\n"
    )
    assert message.body == "El viernes."
    assert message.quoted.endswith("escribió:\n¿Cuándo es la tarea?")


def test_outlooks_original_message_block_is_history() -> None:
    message = read(
        "Subject: RE: x\n\nSee you then.\n\n-----Original Message-----\nFrom: Sam Lee\n"
        "Sent: Tuesday, October 6, 2026 3:14 PM\nTo: Dana Reyes\nSubject: x\n\nCan we meet?\n"
    )
    assert message.body == "See you then."
    assert message.quoted.startswith("-----Original Message-----") and message.quoted.endswith("Can we meet?")


def test_outlooks_from_sent_header_block_is_history() -> None:
    message = read(
        "Subject: RE: x\n\nSee you then.\n\n________________________________\n"
        "From: Sam Lee <sam.lee@nusd.example.org>\nSent: Tuesday, October 6, 2026 3:14 PM\n"
        "To: Dana Reyes\n\nCan we meet?\n"
    )
    assert message.body == "See you then."
    assert message.quoted.startswith("____") and "Can we meet?" in message.quoted


def test_a_forwarded_message_is_context_not_the_senders_words() -> None:
    body, quoted = split_history(
        "FYI, see below.\n\n---------- Forwarded message ---------\nFrom: x\n\nOld news."
    )
    assert (body, quoted) == (
        "FYI, see below.",
        "---------- Forwarded message ---------\nFrom: x\n\nOld news.",
    )


def test_a_sentence_that_only_looks_like_an_attribution_stays_in_the_body() -> None:
    text = "On Monday the whole class wrote:\nthank-you cards for the custodians."
    assert split_history(text) == (text, "")


_HISTORY_PIECES = st.sampled_from(
    [
        "On Tue, Oct 6, 2026 at 3:14 PM Sam <sam@x.org> wrote:",
        "El mar, 6 oct 2026 a las 15:14, Ana escribió:",
        "Le 6 oct. 2026, Luc a écrit :",
        "---------- Forwarded message ---------",
        "-----ORIGINAL MESSAGE-----",
        "--- Message transféré ---",
        "Begin forwarded message:",
        "From: Sam Lee <sam@x.org>",
        "Sent: Tuesday, October 6, 2026 3:14 PM",
        "De: Ana\nEnviado: martes",
        "________________________________",
        "> quoted line",
        "wrote: Sent: escreveu schrieb",
        "See you Friday.",
        "",
    ]
)


@settings(max_examples=300, deadline=None)
@given(pieces=st.lists(st.one_of(_HISTORY_PIECES, st.text(max_size=30)), max_size=12))
def test_the_word_check_before_each_history_search_changes_no_split(pieces: list[str]) -> None:
    """The cheap check for a pattern's words only skips searches that could not have matched."""
    text = "\n".join(pieces)
    fast = split_history(text)
    with mock.patch.object(reading.quoting, "_may_hold", lambda pattern, text: True):
        assert split_history(text) == fast


def test_gmail_html_quote_and_blockquote_are_history() -> None:
    message = read(
        "Content-Type: text/html; charset=utf-8\n\n"
        '<div dir="ltr">Friday, room 4.</div><br><div class="gmail_quote gmail_quote_container">'
        '<div class="gmail_attr">On Tue, Oct 6, 2026 at 3:14 PM Sam &lt;sam@x.org&gt; wrote:<br></div>'
        '<blockquote class="gmail_quote">When is it due?</blockquote></div>\n'
    )
    assert message.body == "Friday, room 4."
    assert "When is it due?" in message.quoted and "wrote:" in message.quoted
    answer = read("Content-Type: text/html\n\n<p>Yes.</p><blockquote>Can I come?</blockquote><p>Bye.</p>\n")
    assert (answer.body, answer.quoted) == ("Yes.\n\nBye.", "> Can I come?")


def test_an_attached_message_is_context_and_its_photos_are_attachments() -> None:
    message = read(
        mixed(
            "Content-Type: text/plain\n\nSee the note below.",
            'Content-Type: message/rfc822\nContent-Disposition: attachment; filename="note.eml"\n\n'
            'Subject: old\nContent-Type: multipart/mixed; boundary="in"\n\n'
            "--in\nContent-Type: text/plain\n\nOriginal words.\n"
            "--in\nContent-Type: image/png\nContent-Transfer-Encoding: base64\n\niVBORw==\n--in--",
        )
    )
    assert message.body == "See the note below."
    assert message.quoted == "Original words."
    assert message.attachments == (
        Attachment("note.eml", "message/rfc822", None),
        Attachment("", "image/png", 4),
    )


# --- attachments ---------------------------------------------------------------------------------------


def test_rfc2231_filenames_are_decoded_and_types_lower_cased() -> None:
    message = read(
        mixed(
            "Content-Type: text/plain\n\nPhotos attached.",
            "Content-Type: IMAGE/JPEG\nContent-Transfer-Encoding: base64\n"
            "Content-Disposition: attachment; filename*0*=utf-8''%C3%A9quipe%20; filename*1*=2026.jpg\n\n"
            + base64.encodebytes(b"x" * 1000).decode(),
            "Content-Type: application/pdf; name*=iso-8859-1'es'permiso%20firmado%E9.pdf\n"
            "Content-Disposition: attachment\n\n%PDF-1.4",
            'Content-Type: text/plain; name="=?utf-8?b?bm90YXMgZGUgbGEgY2xhc2UudHh0?="\n'
            "Content-Disposition: attachment\n\nattached notes a client shows too",
        )
    )
    assert message.body == "Photos attached.\n\nattached notes a client shows too"
    assert message.attachments == (
        Attachment("équipe 2026.jpg", "image/jpeg", 1000),
        Attachment("permiso firmadoé.pdf", "application/pdf", len(b"%PDF-1.4")),
        Attachment("notas de la clase.txt", "text/plain", len(b"attached notes a client shows too")),
    )


def test_a_photo_sent_as_octet_stream_is_known_by_its_name() -> None:
    message = read(mixed('Content-Type: application/octet-stream; name="IMG_0412.JPG"\n\nxx'))
    assert message.attachments == (Attachment("IMG_0412.JPG", "image/jpeg", 2),)


def test_an_undecodable_attachment_has_no_size() -> None:
    message = read(mixed("Content-Type: image/png\nContent-Transfer-Encoding: base64\n\n!!!!\n*"))
    assert message.attachments == (Attachment("", "image/png", None),)


def test_a_multipart_without_a_boundary_is_read_as_text() -> None:
    message = read("Content-Type: multipart/mixed\n\nMeet me at the park.\n")
    assert (message.body, message.attachments) == ("Meet me at the park.", ())


def test_a_very_long_filename_is_cut() -> None:
    message = read(mixed(f'Content-Type: image/png; name="{"a" * 1000}.png"\n\nxx'))
    assert len(message.attachments[0].filename) == FILENAME_LIMIT


# --- charsets ------------------------------------------------------------------------------------------


def test_a_latin1_body_is_decoded() -> None:
    raw = (
        b"Subject: x\r\nContent-Type: text/plain; charset=iso-8859-1\r\n\r\nMa\xf1ana a las 4, se\xf1or.\r\n"
    )
    assert read(raw).body == "Mañana a las 4, señor."


def test_windows_1252_quotes_labelled_latin1_are_read_as_browsers_do() -> None:
    raw = b"Content-Type: text/plain; charset=ISO-8859-1\r\n\r\n\x93Quoted\x94 \x96 done\r\n"
    assert read(raw).body == "\u201cQuoted\u201d \u2013 done"


def test_unknown_and_unfit_charsets_fall_back_to_utf8_then_windows_1252() -> None:
    for label in ("x-bogus", "punycode", "base64", '"utf-8', ""):
        raw = f"Content-Type: text/plain; charset={label}\r\n\r\n".encode() + "Reunión ✓\r\n".encode()
        assert read(raw).body == "Reunión ✓", label
    raw = b"Content-Type: text/plain; charset=x-bogus\r\n\r\nReuni\xf3n\r\n"
    assert read(raw).body == "Reunión"


def test_bytes_invalid_in_the_declared_charset_are_replaced_not_fatal() -> None:
    raw = b"Subject: \xff\xfe bad\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nok \xff\xfe\x00 end\r\n"
    message = read(raw)
    assert message.body == "ok \ufffd\ufffd end"
    assert message.subject == "ÿþ bad"


def test_broken_transfer_encodings_still_give_text() -> None:
    qp = read("Content-Transfer-Encoding: quoted-printable\n\nCaf=C3=A9 =ZZ soft=\nbreak\n")
    assert qp.body == "Café =ZZ softbreak"
    unpadded = "aGVsbG8gd29ybGQ"
    b64 = read(f"Content-Type: text/plain\nContent-Transfer-Encoding: base64\n\n{unpadded}\n")
    assert b64.body == "hello world"


# --- the relay's own header fields ---------------------------------------------------------------------


def test_the_urgent_header_gives_a_one_line_reason() -> None:
    assert read("X-Chaperone-Urgent:   Bus 12 is late,\n  pickup at the gym  \n\nhi\n").urgent == (
        "Bus 12 is late, pickup at the gym"
    )
    assert read("X-Chaperone-Urgent: =?utf-8?q?Autob=C3=BAs?= tarde\n\nhi\n").urgent == "Autobús tarde"
    assert read("X-Chaperone-Urgent: \n\nhi\n").urgent == "urgent"
    assert read("Subject: x\n\nhi\n").urgent is None
    assert len(read(f"X-Chaperone-Urgent: {'x' * 500}\n\nhi\n").urgent or "") == URGENT_LIMIT


def test_the_pictured_header_gives_sourced_ids() -> None:
    message = read(
        "X-Chaperone-Pictured: stu-001, stu.002  stu_003,,bad/id\n"
        "X-Chaperone-Pictured: stu-001 <script> stu-004\n\nhi\n"
    )
    assert message.pictured == ("stu-001", "stu.002", "stu_003", "stu-004")
    many = read("X-Chaperone-Pictured: " + " ".join(f"s{i}" for i in range(500)) + "\n\nhi\n")
    assert len(many.pictured) == MAX_PICTURED


# --- text messages -------------------------------------------------------------------------------------


def test_an_sms_is_its_text() -> None:
    message = sms("Practice moved to 4pm.\nBring water.")
    assert message.channel == "sms" and message.sent_at == RECEIVED
    assert (message.subject, message.body, message.urgent) == (
        "",
        "Practice moved to 4pm.\nBring water.",
        None,
    )


def test_an_urgent_prefix_marks_an_sms_urgent_and_leaves_the_body() -> None:
    message = sms("URGENT: bus 12 is late\nPickup at the gym.")
    assert message.urgent == "bus 12 is late"
    assert message.body == "bus 12 is late\nPickup at the gym."
    assert sms("  urgente:   autobús tarde").urgent == "autobús tarde"
    assert sms("Urgent:").urgent == "urgent"
    assert sms("Urgent:\nCall the office.").urgent == "urgent"
    assert sms("Urgently need the forms back.").urgent is None
    assert sms("Not URGENT: later").urgent is None


# --- any bytes at all ----------------------------------------------------------------------------------

_SOURCED_ID = re.compile(r"[A-Za-z0-9._-]+")


def assert_readable(message: Message) -> None:
    """What the rules and the archive may rely on, whatever arrived."""
    assert len(message.body) <= TEXT_LIMIT and len(message.quoted) <= TEXT_LIMIT
    assert "\n" not in message.subject and len(message.subject) <= SUBJECT_LIMIT
    texts = [message.subject, message.body, message.quoted, message.urgent or ""]
    texts += [a.filename for a in message.attachments]
    for text in texts:
        text.encode("utf-8")  # no lone surrogates
        assert "\x00" not in text
    assert message.urgent is None or 0 < len(message.urgent) <= URGENT_LIMIT
    assert all(_SOURCED_ID.fullmatch(token) for token in message.pictured)
    for attachment in message.attachments:
        assert attachment.content_type == attachment.content_type.lower()
        assert attachment.size is None or attachment.size >= 0
    assert message.sent_at == RECEIVED and message.channel == "email"


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=4000))
def test_any_bytes_give_a_message(raw: bytes) -> None:
    assert_readable(read(raw))


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=400), st.binary(max_size=2000))
def test_any_bytes_after_mime_headers_give_a_message(junk: bytes, body: bytes) -> None:
    head = b"Subject: " + junk + b"\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n"
    assert_readable(read(head + b"--x\r\n" + body))


@dataclass(frozen=True)
class Leaf:
    headers: tuple[tuple[str, bytes], ...]
    body: bytes


@dataclass(frozen=True)
class Multipart:
    headers: tuple[tuple[str, bytes], ...]
    content_type: str
    boundary: bytes
    children: tuple[Leaf | Multipart, ...]
    close: bool  # whether the closing delimiter is written


Node = Leaf | Multipart

CONTENT_TYPES = [
    *"text/plain text/html TEXT/HTML image/jpeg application/octet-stream message/rfc822".split(),
    *"text/calendar multipart/mixed bogus".split(),
    "",
]
CHARSETS = [
    *"utf-8 iso-8859-1 windows-1252 x-bogus punycode idna base64 utf-7 utf-16 unicode_escape rot13".split(),
    *"\"utf-8\" utf-8''".split(),
    "",
]
ENCODINGS = ["7bit", "8bit", "binary", "base64", "quoted-printable", "x-uuencode", "bogus", ""]
HTML_BITS = [
    "<p>",
    "</p>",
    "<a href='https://x.org/p'>",
    "</a>",
    "<br>",
    "<blockquote>",
    "<script>",
    "<!--",
    "-->",
    "<![if x]>",
    "<![CDATA[",
    "&amp;",
    "&#0;",
    "<div class=gmail_quote>",
    "<",
    ">",
]
TEXT_BITS = [
    "> quoted\n",
    "On Tue, Oct 6, 2026 Sam <s@x.org> wrote:\n",
    "-----Original Message-----\n",
    "From: x\nSent: y\n",
    "-- \n",
    "El 6 oct escribió:\n",
    "hello ",
    "\r",
    "\x00",
    "é",
]

HEADER_NAMES = "Subject Content-Type Content-Disposition Content-Transfer-Encoding X-Chaperone-Urgent".split()
header_names = st.sampled_from([*HEADER_NAMES, "X-Chaperone-Pictured", "MIME-Version"]) | st.text(
    "abcXYZ-:", min_size=1, max_size=12
)
HEADER_VALUES = [
    b"=?utf-8?q?Caf=C3=A9?=",
    b"=?bogus?b?!!?=",
    b"attachment; filename*=utf-8''%E2%82",
    b"inline; filename=",
    b"=?utf-8?b?4oK=?= =?latin-1?q?=E9?=",
    b'attachment; name="a;b"; filename*0*=x; filename*1=y',
]
header_values = st.binary(max_size=120) | st.sampled_from(HEADER_VALUES)
extra_headers = st.lists(st.tuples(header_names, header_values), max_size=4).map(tuple)
html_payloads = st.lists(st.sampled_from(HTML_BITS) | st.text(max_size=20), max_size=30)
text_payloads = st.lists(st.sampled_from(TEXT_BITS), max_size=20)
payloads = (
    st.binary(max_size=300)
    | html_payloads.map(lambda bits: "".join(bits).encode("utf-8", "surrogatepass"))
    | text_payloads.map(lambda bits: "".join(bits).encode("utf-8"))
)


@st.composite
def leaves(draw: st.DrawFn) -> Leaf:
    content_type = draw(st.sampled_from(CONTENT_TYPES))
    params = f"; charset={draw(st.sampled_from(CHARSETS))}" if draw(st.booleans()) else ""
    if draw(st.booleans()):
        params += "; name*0*=utf-8''%C3%A9; name*1=x.jpg"
    encoding = draw(st.sampled_from(ENCODINGS))
    body = draw(payloads)
    if encoding == "base64" and draw(st.booleans()):
        body = base64.encodebytes(body)
    headers = (
        ("Content-Type", f"{content_type}{params}".encode()),
        ("Content-Transfer-Encoding", encoding.encode()),
    )
    return Leaf(headers + draw(extra_headers), body)


boundaries = st.binary(max_size=30) | st.text("ab'()+_,-./:=? \"", max_size=70).map(str.encode)


def multiparts(children: st.SearchStrategy[Node]) -> st.SearchStrategy[Node]:
    return st.builds(
        Multipart,
        extra_headers,
        st.sampled_from(["mixed", "alternative", "related", "digest", "signed", "MIXED"]),
        boundaries,
        st.lists(children, max_size=4).map(tuple),
        st.booleans(),
    )


def render(node: Node, newline: bytes) -> bytes:
    head = b"".join(name.encode() + b": " + value + newline for name, value in node.headers)
    if isinstance(node, Leaf):
        return head + newline + node.body
    head = b'Content-Type: multipart/%s; boundary="%s"%s%s' % (
        node.content_type.encode(),
        node.boundary,
        newline,
        head,
    )
    delimiter = newline + b"--" + node.boundary
    parts = b"".join(delimiter + newline + render(child, newline) for child in node.children)
    return head + newline + b"preamble" + parts + (delimiter + b"--" + newline if node.close else b"")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.recursive(leaves(), multiparts, max_leaves=12), st.sampled_from([b"\r\n", b"\n", b"\r"]))
def test_any_mime_structure_gives_a_message(tree: Node, newline: bytes) -> None:
    assert_readable(read(b"Subject: generated" + newline + render(tree, newline)))


def test_pathological_shapes_give_a_message() -> None:
    nested = b"".join(b"Content-Type: multipart/mixed; boundary=b%d\n\n--b%d\n" % (i, i) for i in range(3000))
    shapes = [
        nested + b"Content-Type: text/plain\n\ndeep\n",
        b"Content-Type: message/rfc822\n\n" * 5000 + b"deep",
        b"Subject: " + b"=?utf-8?q?a?= " * 200_000 + b"\n\nbody",
        b"Content-Type: text/plain" + b"(a)" * 100_000 + b"\n\nbody",
        b'Content-Type: text/plain; a="' + b";" * 1_000_000 + b'"\n\nbody',
        b"Content-Type: text/html\n\n" + b"<a " * 300_000,
        b"Content-Type: text/html\n\n" + b"<!--<![" * 200_000,
        b"X-A: b\n" * 200_000 + b"\nbody",
        b"Content-Type: text/html\n\n" + b"<blockquote>" * 80_000 + b"x<br>" * 150_000,
        b"\x00" * 100_000,
    ]
    for raw in shapes:
        assert_readable(read(raw))


def test_when_the_mime_parser_fails_the_text_still_reaches_the_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    class FailingParser:
        def __init__(self, **_: object) -> None:
            pass

        def parsebytes(self, _: bytes) -> None:
            raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(reading, "BytesParser", FailingParser)
    message = read("Subject: =?utf-8?q?Caf=C3=A9?=\nX-Chaperone-Urgent: bus\n\nHello.\n> old\n")
    assert (message.subject, message.urgent, message.body, message.quoted) == (
        "Café",
        "bus",
        "Hello.",
        "> old",
    )


# --- size ----------------------------------------------------------------------------------------------


def test_a_20_mb_text_is_read_up_to_the_cap() -> None:
    message = read(b"Subject: long\r\n\r\n" + b"All work and no play makes Jack a dull boy.\r\n" * 450_000)
    assert TEXT_LIMIT - 100 < len(message.body) <= TEXT_LIMIT
    assert message.body.startswith("All work and no play")


def test_a_20_mb_attachment_is_measured_not_read() -> None:
    photo = bytes(range(256)) * 80_000
    message = read(
        mixed(
            "Content-Type: text/plain\n\nThe whole team.",
            'Content-Type: image/jpeg; name="team.jpg"\nContent-Transfer-Encoding: base64\n\n'
            + base64.encodebytes(photo).decode(),
        )
    )
    assert message.body == "The whole team."
    assert message.attachments == (Attachment("team.jpg", "image/jpeg", len(photo)),)


def test_a_cut_in_a_message_without_line_feeds_keeps_its_header() -> None:
    message = read(b"Subject: old Mac\rX-Chaperone-Urgent: now\r\r" + b"x\r" * 8_000_000)
    assert (message.subject, message.urgent) == ("old Mac", "now")
    assert TEXT_LIMIT - 100 < len(message.body) <= TEXT_LIMIT


def test_a_message_too_costly_to_parse_whole_is_read_up_to_the_cut() -> None:
    costly = "AAAA\n" * 4_000_000  # 20 MB in short lines
    message = read(
        mixed(
            "Content-Type: text/plain\n\nThe whole team.",
            f'Content-Type: image/jpeg; name="team.jpg"\nContent-Transfer-Encoding: base64\n\n{costly}',
            "Content-Type: text/plain\n\nnever reached",
        )
    )
    assert message.body == "The whole team."
    assert message.attachments == (Attachment("team.jpg", "image/jpeg", None),)  # cut: size unknown


def test_an_undecodable_content_type_reads_as_text_without_surrogates() -> None:
    raw = b"From: a@b.c\r\nContent-Type: image/\x80jpeg; name=x.jpg\r\nContent-Disposition: attachment\n\n"
    attachments = read(raw).attachments
    assert attachments
    for attachment in attachments:
        attachment.content_type.encode("utf-8")  # would raise on a lone surrogate


@settings(max_examples=2000, deadline=None)
@given(st.text(alphabet=" \t\n\rab\u00a0", max_size=40))
def test_blank_runs_are_squeezed_as_the_plain_pattern_says(text: str) -> None:
    """The reading's fast pattern for blank runs finds exactly what the plain one does."""
    plainly = re.compile(r"[ \t]*\n[ \t\n]*\n[ \t\n]*|[ \t]{3,}")
    assert mime._BLANK_RUN.sub(mime._one_blank, text) == plainly.sub(mime._one_blank, text)


@settings(max_examples=300)
@given(
    st.lists(st.sampled_from([b"boundary", b"BoUnDaRy", b"bound", b"ary", b"message/", b"x", b"\r\n", b"="]),
             max_size=40),
    st.sampled_from([b"boundary", b"message/"]),
    st.integers(min_value=8, max_value=24),
)  # fmt: skip
def test_a_word_is_found_in_any_case_across_the_chunks_it_is_lowered_in(
    pieces: list[bytes], word: bytes, chunk: int
) -> None:
    raw = b"".join(pieces)
    with mock.patch.object(budget, "_SCAN_CHUNK", chunk):
        found = list(budget._occurrences(raw, word))
    assert found == [m.start() for m in re.finditer(re.escape(word), raw, re.IGNORECASE)]


@given(st.text(alphabet=st.characters(max_codepoint=0x7F)) | st.text())
def test_controls_are_dropped_alike_from_ascii_and_other_text(text: str) -> None:
    expected = charsets._CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
    cleaned = charsets._clean(text)
    assert cleaned == expected if expected.isascii() else charsets._CONTROL.search(cleaned) is None
