"""httpcore's network layer on plain asyncio streams (httpcore's `AsyncNetworkBackend` extension point).

httpcore's default backend for asyncio goes through anyio: every read and write of a proxied request
enters a cancel scope (`anyio.fail_after`), and the pool's check whether an idle connection was
closed by the service builds anyio's whole dictionary of socket attributes. The gateway runs on
asyncio only; here a read or write is an `asyncio.timeout` around the stream call, with the same
httpcore exceptions for the same failures, so the pool and the proxy see no difference.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import Iterable
from typing import Any

import httpcore
from httpcore._utils import is_socket_readable  # httpcore's own check, as its anyio backend uses

# A connection reads ahead into its StreamReader up to this much; an answer is read in chunks of
# `max_bytes` (64 KiB) by httpcore anyway.
_READ_LIMIT = 2**20
# Held writes are sent once they add up to this much, without waiting for the read.
_HOLD_AT_MOST = 2**16


class AsyncioStream(httpcore.AsyncNetworkStream):
    """A connection. Writes are held until the next read and then sent as one: httpcore writes a
    request's head and its body separately, and two sends cost two system calls here and two reads
    at the service; every request is read after it is written, so nothing waits on a held write."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer
        self._held: list[bytes] = []
        self._write_timeout: float | None = None

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        if self._held:
            await self._send_held()
        try:
            async with asyncio.timeout(timeout):
                return await self._reader.read(max_bytes)
        except TimeoutError as exc:
            raise httpcore.ReadTimeout(str(exc)) from exc
        except OSError as exc:
            raise httpcore.ReadError(str(exc)) from exc

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if not buffer:
            return
        self._held.append(buffer)
        self._write_timeout = timeout
        if sum(map(len, self._held)) > _HOLD_AT_MOST:
            await self._send_held()  # a large body goes out as it comes, under backpressure

    async def _send_held(self) -> None:
        data, self._held = b"".join(self._held), []
        try:
            async with asyncio.timeout(self._write_timeout):
                self._writer.write(data)
                await self._writer.drain()
        except TimeoutError as exc:
            raise httpcore.WriteTimeout(str(exc)) from exc
        except (OSError, RuntimeError) as exc:  # RuntimeError: written to a transport already closing
            raise httpcore.WriteError(str(exc)) from exc

    async def aclose(self) -> None:
        self._held = []
        self._writer.close()
        with contextlib.suppress(OSError, ssl.SSLError):
            await self._writer.wait_closed()

    async def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.AsyncNetworkStream:
        try:
            async with asyncio.timeout(timeout):
                await self._writer.start_tls(ssl_context, server_hostname=server_hostname)
        except TimeoutError as exc:
            await self.aclose()
            raise httpcore.ConnectTimeout(str(exc)) from exc
        except (OSError, ssl.SSLError) as exc:
            await self.aclose()
            raise httpcore.ConnectError(str(exc)) from exc
        return self

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable":
            # An idle keep-alive connection is unusable once the service closed it or sent anything:
            # the transport has already read that into the StreamReader (EOF, or bytes waiting).
            if self._reader.at_eof() or self._writer.is_closing() or self._reader.exception() is not None:
                return True
            return bool(self._reader._buffer) or is_socket_readable(self._writer.get_extra_info("socket"))  # type: ignore[attr-defined]
        if info == "ssl_object":
            return self._writer.get_extra_info("ssl_object")
        if info == "client_addr":
            return self._writer.get_extra_info("sockname")
        if info == "server_addr":
            return self._writer.get_extra_info("peername")
        if info == "socket":
            return self._writer.get_extra_info("socket")
        return None


class AsyncioBackend(httpcore.AsyncNetworkBackend):
    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            async with asyncio.timeout(timeout):
                reader, writer = await asyncio.open_connection(
                    host, port, limit=_READ_LIMIT, local_addr=(local_address, 0) if local_address else None
                )
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(str(exc)) from exc
        except OSError as exc:
            raise httpcore.ConnectError(str(exc)) from exc
        sock = writer.get_extra_info("socket")
        # asyncio sets TCP_NODELAY on its TCP connections already; options asked for come on top.
        for option in socket_options or ():
            sock.setsockopt(*option)
        return AsyncioStream(reader, writer)

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.AsyncNetworkStream:
        try:
            async with asyncio.timeout(timeout):
                reader, writer = await asyncio.open_unix_connection(path, limit=_READ_LIMIT)
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(str(exc)) from exc
        except OSError as exc:
            raise httpcore.ConnectError(str(exc)) from exc
        return AsyncioStream(reader, writer)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
