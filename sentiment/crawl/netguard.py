"""SSRF safety: the crawler fetches only public addresses, unless explicitly allowlisted.

A configured source, a link in a feed or a redirect may point at the intranet (a router,
a metadata service, the database).  Every host is resolved before connecting and every
resolved address checked; the connection is then made to the checked address itself, so a
second DNS answer cannot swap in a private one (DNS rebinding).  The same check runs again
on every redirect hop.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class BlockedAddressError(Exception):
    """The URL's host is (or resolves to) a non-public address that is not allowlisted."""


def _is_public(ip: IPAddress) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not (
        ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_multicast
        or ip.is_reserved or ip.is_unspecified
    )  # fmt: skip


class AddressPolicy:
    """Which addresses may be fetched: public ones, plus the allowlisted hosts and blocks."""

    def __init__(self, allow: Iterable[str] = ()) -> None:
        self.hosts: set[str] = set()
        self.networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
        for entry in allow:
            try:
                self.networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                self.hosts.add(entry.lower().rstrip("."))

    def allowed(self, host: str, ip: IPAddress) -> bool:
        if _is_public(ip):
            return True
        return (host.lower().rstrip(".") in self.hosts and ip.is_loopback) or any(
            ip in net for net in self.networks
        )

    def resolve(self, host: str, port: int) -> str:
        """The first resolved address of ``host``; every one of them must be allowed."""
        try:
            literal = ipaddress.ip_address(host.strip("[]"))
            addresses: list[IPAddress] = [literal]
        except ValueError:
            try:
                infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
            except socket.gaierror as exc:
                raise OSError(f"无法解析主机名 {host}: {exc}") from None
            addresses = [ipaddress.ip_address(info[4][0]) for info in infos]
        if not addresses:
            raise OSError(f"主机名 {host} 没有地址")
        for ip in addresses:
            if not self.allowed(host, ip):
                raise BlockedAddressError(
                    f"拒绝访问非公网地址 {host} -> {ip}（未在 crawler.allow_private 中允许）"
                )
        return str(addresses[0])
