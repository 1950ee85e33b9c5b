"""``python -m vigil_local`` whose sockets reach this machine only: the stack the fuzzer drives.

The fuzzer makes subscribers with webhook URLs of its own invention and notices that reach them, and
the local stack sends real HTTP to webhooks. Run this way, a name resolves only when it is
``localhost`` or an address, and a connection to anything but a loopback address is refused
(``ConnectionRefusedError``, as from a host that does not listen): the service itself is unchanged,
and treats those webhooks as it treats any unreachable receiver (a failed delivery, retried).
"""

from __future__ import annotations

import ipaddress
import runpy
import socket
from typing import Any

_real_getaddrinfo = socket.getaddrinfo
_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _is_loopback(host: object) -> bool:
    try:
        return ipaddress.ip_address(str(host).split("%")[0]).is_loopback
    except ValueError:
        return False


def _getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
    name = host.decode() if isinstance(host, bytes) else host
    if name is not None and name != "localhost":
        try:
            ipaddress.ip_address(str(name).split("%")[0])
        except ValueError:
            raise socket.gaierror(socket.EAI_NONAME, f"{name}: only this machine is reachable here") from None
    return _real_getaddrinfo(host, *args, **kwargs)


def _refuse(address: Any) -> None:
    if isinstance(address, tuple) and not _is_loopback(address[0]):
        raise ConnectionRefusedError(f"{address[0]}: only this machine is reachable here")


def _connect(self: socket.socket, address: Any) -> None:
    _refuse(address)
    _real_connect(self, address)


def _connect_ex(self: socket.socket, address: Any) -> int:
    _refuse(address)
    return _real_connect_ex(self, address)


def confine_to_loopback() -> None:
    socket.getaddrinfo = _getaddrinfo
    socket.socket.connect = _connect  # type: ignore[method-assign, assignment]
    socket.socket.connect_ex = _connect_ex  # type: ignore[method-assign, assignment]


if __name__ == "__main__":
    confine_to_loopback()
    runpy.run_module("vigil_local", run_name="__main__", alter_sys=True)
