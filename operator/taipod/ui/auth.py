"""Who may use the page: a random token (Jupyter style) then a cookie, a CSRF token on every mutation, and the
Host header checked against loopback names (no DNS rebinding). In-cluster mode has no token: the user's bearer
token, forwarded to the API server, is what authenticates and authorises each request.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiohttp import web

__all__ = ["CSRF_HEADER", "Guard"]

CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _same(given: str | None, expected: str) -> bool:
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())


@dataclass
class Guard:
    """``token`` None: no token (in-cluster mode). ``hosts``: the Host header values accepted (None: any)."""

    token: str | None
    port: int
    hosts: frozenset[str] | None = None
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(32))

    @staticmethod
    def new_token() -> str:
        return secrets.token_hex(24)

    @property
    def cookie(self) -> str:
        return f"taipod-ui-{self.port}"

    def _authenticated(self, request: web.Request) -> bool:
        if self.token is None:
            return True
        return _same(request.cookies.get(self.cookie), self.token) or _same(request.query.get("token"), self.token)

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if self.hosts is not None and request.host not in self.hosts:
            return self._secured(web.Response(status=403, text=f"taipod ui: unexpected Host header {request.host!r}"))
        if not self._authenticated(request):
            return self._secured(
                web.Response(
                    status=403,
                    text="taipod ui: this page needs its token: open the URL that `taipod ui` printed (…/?token=…)",
                )
            )
        if request.method not in SAFE_METHODS and not _same(request.headers.get(CSRF_HEADER), self.csrf):
            return self._secured(
                web.json_response(
                    {"message": f"missing or wrong {CSRF_HEADER} header: reload the page to get the current one"},
                    status=403,
                )
            )
        if self.token is not None and "token" in request.query and request.method == "GET":
            # The token leaves the address bar (and the history) at once: from now on the cookie carries it.
            target = request.rel_url.with_query({k: v for k, v in request.query.items() if k != "token"})
            response = web.Response(status=302, headers={"Location": str(target)})
            response.set_cookie(self.cookie, self.token, httponly=True, samesite="Strict", path="/")
            return self._secured(response)
        return self._secured(await handler(request))

    @staticmethod
    def _secured(response: web.StreamResponse) -> web.StreamResponse:
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        response.headers.setdefault("X-Frame-Options", "DENY")
        return response
