"""The device's network state, read locally (no packets sent), for the status action.

The owner of a headless device needs its address to SSH in, so the status action says
it; "the network is up" means there is a default route and an address on its interface.
"""

from __future__ import annotations

import contextlib
import fcntl
import socket
import struct
from pathlib import Path

_SIOCGIFADDR = 0x8915
_RTF_UP = 0x1


def default_interface(route_table: Path = Path("/proc/net/route")) -> str | None:
    """The interface of the IPv4 default route, or None when there is none."""
    try:
        lines = route_table.read_text().splitlines()[1:]
    except OSError:
        return None
    for line in lines:
        fields = line.split()
        if len(fields) >= 4 and fields[1] == "00000000":
            with contextlib.suppress(ValueError):
                if int(fields[3], 16) & _RTF_UP:
                    return fields[0]
    return None


def ipv4_address(interface: str) -> str | None:
    """The IPv4 address of ``interface``, or None."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            packed = fcntl.ioctl(sock.fileno(), _SIOCGIFADDR,
                                 struct.pack("256s", interface.encode()[:15]))
        except OSError:
            return None
    return socket.inet_ntoa(packed[20:24])


def addresses() -> dict[str, str]:
    """IPv4 addresses of the interfaces other than loopback, by interface name."""
    found = {}
    for _, name in socket.if_nameindex():
        if name == "lo":
            continue
        address = ipv4_address(name)
        if address and not address.startswith("127."):
            found[name] = address
    return found


def summary() -> tuple[str | None, bool]:
    """(the address to tell the owner or None, whether the network is up)."""
    interface = default_interface()
    found = addresses()
    if interface and interface in found:
        return found[interface], True
    # No default route: an address may still be reachable on the local network.
    return (next(iter(found.values()), None), False)


def spoken_address(address: str) -> str:
    """``192.168.1.23`` as "192 dot 168 dot 1 dot 23", which every voice reads right."""
    return " dot ".join(address.split("."))
