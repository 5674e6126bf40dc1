"""Which network addresses the fetcher may connect to.

A feed URL is whatever a reader typed, and a server may redirect anywhere, so tidings
fetches only from public addresses by default: never from private, loopback, link-local,
shared (carrier-grade NAT), multicast, reserved or cloud metadata addresses, including
IPv4 addresses wrapped in IPv6 (``::ffff:10.0.0.1``, 6to4, NAT64). The setting
``TIDINGS_FETCH_ALLOW`` lets a test or a self-hoster on a LAN through: a comma-separated
list of host names (``feeds.lan``) and IP addresses or CIDR ranges (``127.0.0.1/32``,
``192.168.1.0/24``, ``fd00::/8``).

The fetcher applies this when it connects (see :mod:`tidings.ingest.fetch`): it resolves the
host itself, keeps only the addresses allowed here and connects to one of those, so every
redirect hop and every DNS answer is checked, and a name that resolves differently between
the check and the connection cannot slip through.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from dataclasses import dataclass

from tidings import config
from tidings.errors import FetchError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# Instance metadata services answer with cloud credentials: named apart in errors.
METADATA_ADDRESSES = frozenset(
    {
        ipaddress.ip_address("169.254.169.254"),  # AWS, GCP, Azure, OpenStack, ...
        ipaddress.ip_address("fd00:ec2::254"),  # AWS over IPv6
        ipaddress.ip_address("100.100.100.200"),  # Alibaba Cloud
    }
)
SHARED_NETWORK = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT (RFC 6598)
# Special-purpose ranges that some Python versions count as global.
SPECIAL_NETWORKS = (
    ipaddress.ip_network("192.0.0.0/24"),  # IETF protocol assignments (incl. Oracle metadata)
    ipaddress.ip_network("198.18.0.0/15"),  # benchmarking
    ipaddress.ip_network("64:ff9b:1::/48"),  # local-use NAT64
)
NAT64_NETWORK = ipaddress.ip_network("64:ff9b::/96")  # well-known NAT64 prefix

_LABEL = re.compile(r"(?!-)[a-z0-9_-]{1,63}(?<!-)")


class AddressRefused(FetchError):
    """The fetcher would have connected to an address that is not allowed."""


class AllowListError(FetchError):
    """``TIDINGS_FETCH_ALLOW`` has an entry that is neither a host name nor an address range."""


@dataclass(frozen=True, slots=True)
class AllowList:
    """Host names and address ranges let through although they are not public."""

    hosts: frozenset[str] = frozenset()
    networks: tuple[IPNetwork, ...] = ()

    def allows_host(self, host: str) -> bool:
        return _normal_host(host) in self.hosts

    def allows_address(self, ip: IPAddress) -> bool:
        candidates = [ip]
        inner = embedded_ipv4(ip)
        if inner is not None:
            candidates.append(inner)
        return any(a in net for a in candidates for net in self.networks)


NOTHING_ALLOWED = AllowList()


def parse_allow_list(text: str, *, setting: str = config.FETCH_ALLOW_ENV) -> AllowList:
    """The allow-list in ``text`` (comma-separated host names, addresses and CIDR ranges).

    Raises :class:`AllowListError` naming ``setting`` and the first entry that is neither.
    """
    hosts: set[str] = set()
    networks: list[IPNetwork] = []
    for raw in text.split(","):
        entry = raw.strip()
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
            continue
        except ValueError:
            pass
        host = _host_name(entry)
        if host is None:
            raise AllowListError(
                f"{setting}: {entry!r} is neither a host name nor an IP address or CIDR range "
                "(e.g. feeds.lan, 192.168.1.0/24, 127.0.0.1/32)"
            )
        hosts.add(host)
    return AllowList(hosts=frozenset(hosts), networks=tuple(networks))


def allow_list_from_settings() -> AllowList:
    """The allow-list that ``TIDINGS_FETCH_ALLOW`` gives now (empty when it is not set)."""
    return parse_allow_list(config.fetch_allow())


def embedded_ipv4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for (IPv4-mapped, 6to4, NAT64), if any."""
    if not isinstance(ip, ipaddress.IPv6Address):
        return None
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in NAT64_NETWORK:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def blocked_reason(ip: IPAddress) -> str | None:
    """Why ``ip`` is not a public address (e.g. ``"a loopback address"``), or None if it is."""
    inner = embedded_ipv4(ip)
    if inner is not None:
        reason = blocked_reason(inner)
        if reason is not None:
            return reason
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            return None  # it is that IPv4 address, which is public
    if ip in METADATA_ADDRESSES:
        return "a cloud metadata address"
    if ip.is_unspecified:
        return "an unspecified address"
    if ip.is_loopback:
        return "a loopback address"
    if ip.is_link_local:
        return "a link-local address"
    if ip.is_multicast:
        return "a multicast address"
    if ip in SHARED_NETWORK:
        return "a shared (carrier-grade NAT) address"
    if ip.is_private or (isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local):
        return "a private address"
    if ip.is_reserved or any(ip in net for net in SPECIAL_NETWORKS) or not ip.is_global:
        return "a reserved address"
    return None


def check_address(host: str, address: str, allow: AllowList) -> None:
    """Raise :class:`AddressRefused` unless ``host`` may be reached at ``address``."""
    if allow.allows_host(host):
        return
    ip = _ip(address)
    reason = blocked_reason(ip)
    if reason is not None and not allow.allows_address(ip):
        raise AddressRefused(_refusal(host, ip, reason))


def allowed_addresses(host: str, addresses: list[str], allow: AllowList) -> list[str]:
    """The ones of ``addresses`` (what ``host`` resolved to) that may be connected to, in order.

    Raises :class:`AddressRefused`, naming the host (not the addresses), when none may.
    """
    if allow.allows_host(host):
        return list(addresses)
    allowed: list[str] = []
    first_refusal: str | None = None
    for address in addresses:
        try:
            check_address(host, address, allow)
        except AddressRefused as exc:
            first_refusal = first_refusal or str(exc)
            continue
        allowed.append(address)
    if not allowed:
        raise AddressRefused(first_refusal or f"{host} has no address")
    return allowed


def resolve(host: str, port: int) -> list[str]:
    """The addresses ``host`` resolves to for a TCP connection, in the resolver's order."""
    try:
        ip = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        pass
    else:
        return [str(ip)]
    try:
        answers = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise FetchError(f"cannot resolve the host name {host!r}: {exc}") from exc
    addresses: list[str] = []
    for _family, _type, _proto, _name, sockaddr in answers:
        address = str(sockaddr[0])
        if address not in addresses:
            addresses.append(address)
    return addresses


def _ip(address: str) -> IPAddress:
    return ipaddress.ip_address(address.split("%", 1)[0])  # drop an IPv6 zone ("fe80::1%eth0")


def _refusal(host: str, ip: IPAddress, reason: str) -> str:
    """Why a connection was refused. For a host name, neither the address it resolved to nor
    what kind of address it is: a refusal must not map a private network for whoever typed
    the name (or made a server redirect to it). An address typed as such is repeated, with
    its kind and the allow-list entry that would let it through."""
    if not _is_literal(host, ip):
        return (
            f"refused to connect to {host}: not a public address; "
            f"set {config.FETCH_ALLOW_ENV} to allow it"
        )
    return (
        f"refused to connect to {ip}: not a public address (it is {reason}); "
        f"set {config.FETCH_ALLOW_ENV} to allow it (e.g. {ip}/{ip.max_prefixlen})"
    )


def _is_literal(host: str, ip: IPAddress) -> bool:
    """Whether ``host`` is ``ip`` written as an address (``[::ffff:10.0.0.1]`` included)."""
    try:
        return ipaddress.ip_address(host.strip("[]").split("%", 1)[0]) == ip
    except ValueError:
        return False


def _normal_host(host: str) -> str:
    return host.strip().lower().rstrip(".")


def _host_name(entry: str) -> str | None:
    """``entry`` as a normalised host name (IDNA), or None when it is not one."""
    try:
        host = _normal_host(entry).encode("idna").decode("ascii")
    except UnicodeError:
        return None
    labels = host.split(".")
    if not host or len(host) > 253 or not all(_LABEL.fullmatch(label) for label in labels):
        return None
    if labels[-1].isdigit():  # "10.0.0.300" is a mistyped address, not a name
        return None
    return host
