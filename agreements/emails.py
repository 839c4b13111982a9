"""Email rendering: every email is three templates, `emails/<name>-subject.txt`,
`emails/<name>-body-text.txt` and `emails/<name>-body-html.html` (healthchecks' pattern).

Links in emails and feeds are absolute, built from `settings.SITE_URL` and the records' own
`get_absolute_url()`, as the pages link them: there is no request to build them from when a
command sends mail.
"""

from __future__ import annotations

from typing import NamedTuple
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string


class RenderedEmail(NamedTuple):
    """A rendered email; unpacks as `subject, text, html = ...`."""

    subject: str
    text: str
    html: str


def absolute_url(path: str) -> str:
    """`/agreements/x/` → `https://tracker.example.org/agreements/x/`."""
    return f"{settings.SITE_URL}{path}"


def site_host() -> str:
    """The site's host name, for identifiers that must be unique to it (Message-ID, feed
    entry ids, calendar event ids)."""
    return urlsplit(settings.SITE_URL).hostname or "localhost"


def render_email(name: str, context: dict) -> RenderedEmail:
    subject = render_to_string(f"emails/{name}-subject.txt", context)
    # A header is one line: collapse whatever whitespace the template left.
    subject = " ".join(subject.split())
    text = render_to_string(f"emails/{name}-body-text.txt", context)
    html = render_to_string(f"emails/{name}-body-html.html", context)
    return RenderedEmail(subject=subject, text=text, html=html)


def build_message(
    *,
    to: str,
    subject: str,
    text: str,
    html: str,
    headers: dict[str, str] | None = None,
) -> EmailMultiAlternatives:
    message = EmailMultiAlternatives(subject, text, settings.DEFAULT_FROM_EMAIL, [to])
    message.extra_headers = dict(headers or {})
    message.attach_alternative(html, "text/html")
    return message


def unsubscribe_headers(unsubscribe_url: str) -> dict[str, str]:
    """RFC 2369 and RFC 8058 one-click unsubscribe: mail clients POST to the link."""
    if not unsubscribe_url:
        return {}
    return {
        "List-Unsubscribe": f"<{unsubscribe_url}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }
