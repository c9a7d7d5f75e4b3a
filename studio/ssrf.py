"""Send an HTTP POST to a URL someone typed in, without letting it reach inside.

`post()` resolves the host once, refuses the whole request if any address it resolves
to is loopback, private, link-local, multicast, reserved, unspecified or a cloud
metadata address (unless private targets are allowed; metadata stays refused), then
connects to exactly the address it checked — no second lookup an attacker's DNS could
answer differently — with the original host in the Host header and, for HTTPS, in SNI
and the certificate check. Redirects are never followed (http.client does not), and
every step has a short timeout.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.utils.translation import gettext as _

CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 10.0
MAX_RESPONSE_BYTES = 64 * 1024

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Cloud instance metadata services: never a webhook target, whatever the settings say.
METADATA_ADDRESSES: frozenset[IPAddress] = frozenset(
    {
        ipaddress.ip_address("169.254.169.254"),  # AWS, GCP, Azure, OpenStack, …
        ipaddress.ip_address("169.254.170.2"),  # AWS ECS task metadata
        ipaddress.ip_address("100.100.100.200"),  # Alibaba Cloud
        ipaddress.ip_address("fd00:ec2::254"),  # AWS over IPv6
    }
)


class RefusedTarget(Exception):
    """The URL may not be called (bad scheme, unresolvable, or a forbidden address)."""


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str
    address: str

    @property
    def host_header(self) -> str:
        default = 443 if self.scheme == "https" else 80
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == default else f"{host}:{self.port}"


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes
    duration_ms: int


def address_problem(address: IPAddress, *, allow_private: bool) -> str | None:
    """Why this address may not be called, or None."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address_problem(address.ipv4_mapped, allow_private=allow_private)
    if address in METADATA_ADDRESSES:
        return _("a cloud metadata address")
    if address.is_multicast:
        return _("a multicast address")
    if address.is_unspecified:
        return _("an unspecified address")
    if allow_private:
        if address.is_link_local and not address.is_loopback:
            return _("a link-local address")
        return None
    if address.is_loopback:
        return _("a loopback address")
    if address.is_link_local:
        return _("a link-local address")
    if address.is_private:
        return _("a private network address")
    if address.is_reserved or not address.is_global:
        return _("a reserved address")
    return None


def check_url(url: str) -> tuple[str, str, int, str]:
    """(scheme, host, port, path) of an http(s) URL, or RefusedTarget."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise RefusedTarget(_("The URL is not valid.")) from exc
    scheme = parts.scheme.lower()
    if scheme not in {"http", "https"}:
        raise RefusedTarget(_("Only http:// and https:// URLs can receive webhooks."))
    host = parts.hostname or ""
    if not host:
        raise RefusedTarget(_("The URL has no host."))
    if parts.username or parts.password:
        raise RefusedTarget(_("Put no user name or password in the URL; use the secret."))
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    return scheme, host, port or (443 if scheme == "https" else 80), path


def resolve(url: str, *, allow_private: bool) -> Target:
    """Resolve the URL's host once and check every address; RefusedTarget if any is
    forbidden (a name that also resolves inside is refused outright)."""
    scheme, host, port, path = check_url(url)
    try:
        literal: IPAddress | None = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        addresses = [literal]
    else:
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError, OSError) as exc:
            raise RefusedTarget(_("The host name does not resolve.")) from exc
        addresses = []
        for info in infos:
            raw = str(info[4][0]).split("%", 1)[0]  # drop an IPv6 zone id
            try:
                addresses.append(ipaddress.ip_address(raw))
            except ValueError:
                continue
        if not addresses:
            raise RefusedTarget(_("The host name does not resolve."))
    for address in addresses:
        problem = address_problem(address, allow_private=allow_private)
        if problem:
            raise RefusedTarget(
                _("%(host)s resolves to %(address)s, %(problem)s, which is not allowed.")
                % {"host": host, "address": address, "problem": problem}
            )
    return Target(scheme=scheme, host=host, port=port, path=path, address=str(addresses[0]))


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to the checked address, whatever self.host is."""

    def __init__(self, target: Target, timeout: float) -> None:
        super().__init__(target.host, target.port, timeout=timeout)
        self._target = target

    def connect(self) -> None:
        self.sock = socket.create_connection(
            (self._target.address, self._target.port), timeout=CONNECT_TIMEOUT
        )
        self.sock.settimeout(self.timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class _PinnedHTTPSConnection(_PinnedHTTPConnection):
    def __init__(self, target: Target, timeout: float) -> None:
        super().__init__(target, timeout)
        self._context = ssl.create_default_context()

    def connect(self) -> None:
        super().connect()
        self.sock = self._context.wrap_socket(self.sock, server_hostname=self._target.host)


def post(
    url: str,
    *,
    body: bytes,
    headers: dict[str, str],
    allow_private: bool,
    timeout: float | None = None,
) -> Response:
    """POST body to url (checked as above). Raises RefusedTarget before any connection,
    or OSError / http.client.HTTPException for network trouble. Never follows a redirect:
    a 3xx is returned like any other status."""
    target = resolve(url, allow_private=allow_private)
    connection_class = _PinnedHTTPSConnection if target.scheme == "https" else _PinnedHTTPConnection
    conn = connection_class(target, READ_TIMEOUT if timeout is None else timeout)
    started = time.monotonic()
    try:
        conn.putrequest("POST", target.path, skip_host=True, skip_accept_encoding=True)
        conn.putheader("Host", target.host_header)
        for name, value in {
            **headers,
            "Content-Length": str(len(body)),
            "Connection": "close",
        }.items():
            conn.putheader(name, value)
        conn.endheaders(body)
        response = conn.getresponse()
        data = response.read(MAX_RESPONSE_BYTES)
        status = response.status
    finally:
        conn.close()
    return Response(status=status, body=data, duration_ms=int((time.monotonic() - started) * 1000))
