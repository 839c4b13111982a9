"""The client's address when the app runs behind proxies it trusts.

Behind a proxy every request comes from the proxy (`REMOTE_ADDR`), so anything keyed on the
address (the login lockout) would treat every visitor as one. Each proxy appends the address
it received the request from to `X-Forwarded-For`; with `TRUSTED_PROXY_COUNT` proxies in
front of the app, the client is therefore that many entries from the right. Entries further
left were sent by the client itself and prove nothing: the left-most one, which is what
many libraries read, is whatever an attacker typed.

Code that records or limits by address calls `client_address(request)`.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def client_address(request: HttpRequest) -> str | None:
    remote = request.META.get("REMOTE_ADDR")
    trusted = settings.TRUSTED_PROXY_COUNT
    if trusted < 1:
        return remote
    forwarded = [
        entry.strip()
        for entry in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
        if entry.strip()
    ]
    if not forwarded:
        return remote  # not through the proxies (a health check on the app's own port)
    # Fewer entries than proxies: the request met fewer of them, and every entry there was
    # appended by one; the left-most is then the first proxy's view of the client.
    candidate = forwarded[-trusted] if len(forwarded) >= trusted else forwarded[0]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        # A proxy appends a bare address; anything else is a misconfiguration, and an
        # address column would refuse it.
        return remote
