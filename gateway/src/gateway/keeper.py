"""The state keeper: one process of the ``gateway`` command that holds the emulator's state for all its workers.

Used when several workers count rate limits in memory (no Redis to share
through). The keeper holds the journal and the faults; each worker talks to it
over a unix socket (length-prefixed JSON messages), and reads two numbers the
keeper keeps in a small shared file mapped into every process: how many faults
are in force (so that a request asks the keeper about faults only when there is
one), and a generation of counter resets (so that a worker clears its own
in-memory rate-limit counters when a reset went through another worker).

Why a process rather than a shared file or database: a request's journal entry
is a single write on an open socket (no lock, no fsync, no waiting on another
worker's transaction), and a fault's ``times`` are counted exactly because one
process picks every fault. A worker writes its entry before its reply goes out;
before answering any read, the keeper takes in everything already sent on every
worker's socket, so a read through any worker sees every request a client has
been answered for.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import marshal
import mmap
import os
import selectors
import socket
import struct
from collections import deque
from pathlib import Path
from typing import Any

from gateway.faults import Fault, FaultBook
from gateway.journal import Journal, Record
from gateway.state import StateUnavailable

log = logging.getLogger("gateway.keeper")

ENVIRONMENT = "GATEWAY_STATE_DIR"
SOCKET_NAME = "keeper.sock"
FLAGS_NAME = "flags"
# The shared file: faults in force, then the generation of counter resets (two signed 64-bit numbers).
FLAGS = struct.Struct("=qq")
FRAME = struct.Struct("!I")
# What a worker's frame holds, after its length: a journal record (marshal) or a request (JSON).
RECORD, REQUEST = b"r", b"j"
REQUEST_TIMEOUT_SECONDS = 0.25
ADMIN_TIMEOUT_SECONDS = 5.0
# Counter resets remembered for workers that have not caught up yet.
RESETS_KEPT = 1000


def address_from_environment() -> tuple[Path, Path] | None:
    """The keeper's socket and flags file, when the ``gateway`` command started one for its workers."""
    folder = os.environ.get(ENVIRONMENT)
    if not folder:
        return None
    return Path(folder) / SOCKET_NAME, Path(folder) / FLAGS_NAME


def prepare(folder: Path) -> socket.socket:
    """Make the flags file and the listening socket in ``folder`` (before any worker forks)."""
    (folder / FLAGS_NAME).write_bytes(bytes(FLAGS.size))
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(folder / SOCKET_NAME))
    listener.listen(64)
    return listener


def _frame(message: Any, kind: bytes = b"") -> bytes:
    data = kind + json.dumps(message, separators=(",", ":")).encode()
    return FRAME.pack(len(data)) + data


def _record_frame(record: Record) -> bytes:
    # marshal: the fastest encoding of a tuple of strings, bytes and numbers, read by a
    # process forked from the same interpreter, over a socket only this user can open.
    data = RECORD + marshal.dumps(record.fields())
    return FRAME.pack(len(data)) + data


# -- the keeper process ---------------------------------------------------------------------


class Keeper:
    """The journal, faults and counter-reset generations of every worker, answering their messages."""

    def __init__(self, flags_path: Path, capacity: int):
        self.journal = Journal(capacity, 0)  # each record carries its own max_body_bytes
        self.book = FaultBook()
        self.generation = 0
        self.resets: deque[tuple[int, list[str] | None]] = deque(maxlen=RESETS_KEPT)
        self._flags_file = open(flags_path, "r+b")  # noqa: SIM115 (open for the keeper's whole life)
        self.flags = mmap.mmap(self._flags_file.fileno(), FLAGS.size)
        self._publish()

    def _publish(self) -> None:
        FLAGS.pack_into(self.flags, 0, len(self.book.faults), self.generation)

    def add(self, record: Record) -> None:
        if self.journal.enabled:
            self.journal.records.append(record)

    def answer(self, op: str, args: dict) -> Any:
        """The result of one request of a worker."""
        book = self.book
        if op == "pick":
            fault = book.pick(args["route"], args["method"], args["path"])
            self._publish()
            return None if fault is None else {**fault.document(), "key": fault.key}
        if op == "find":
            return self.journal.find(args["filters"])
        if op == "get":
            return self.journal.get(args["id"])
        if op == "clear_journal":
            self.journal.clear(None if args["routes"] is None else set(args["routes"]))
            return None
        if op == "create_fault":
            document = book.create(args["fields"]).document()
            self._publish()
            return document
        if op == "list_faults":
            return [f.document() for f in book.faults]
        if op == "get_fault":
            fault = book.get(args["id"])
            return None if fault is None else fault.document()
        if op == "remove_fault":
            removed = book.remove(args["id"])
            self._publish()
            return removed
        if op == "clear_faults":
            book.clear(None if args["routes"] is None else set(args["routes"]))
            self._publish()
            return None
        if op == "counters_cleared":
            self.generation += 1
            self.resets.append((self.generation, args["routes"]))
            self._publish()
            return self.generation
        if op == "resets_since":
            since = args["generation"]
            if self.resets and self.resets[0][0] > since + 1:
                missed = [None]  # resets no longer remembered: the worker clears everything
            else:
                missed = [routes for generation, routes in self.resets if generation > since]
            return {"generation": self.generation, "resets": missed}
        raise ValueError(f"unknown operation {op!r}")


def serve(listener: socket.socket, flags_path: Path, capacity: int) -> None:
    """Run the keeper on ``listener`` until the process is stopped."""
    keeper = Keeper(flags_path, capacity)
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ)
    buffers: dict[socket.socket, bytearray] = {}

    def drain(connection: socket.socket) -> list[tuple[bytes, bytes]]:
        buffer = buffers[connection]
        while True:
            try:
                data = connection.recv(1 << 20, socket.MSG_DONTWAIT)
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                data = b""
            if not data:
                selector.unregister(connection)
                del buffers[connection]
                connection.close()
                break
            buffer += data
        messages = []
        while len(buffer) >= FRAME.size:
            (size,) = FRAME.unpack_from(buffer)
            if len(buffer) < FRAME.size + size:
                break
            start = FRAME.size
            messages.append((bytes(buffer[start : start + 1]), bytes(buffer[start + 1 : start + size])))
            del buffer[: start + size]
        return messages

    while True:
        events = selector.select()
        for key, _mask in events:
            if key.fileobj is listener:
                connection, _address = listener.accept()
                selector.register(connection, selectors.EVENT_READ)
                buffers[connection] = bytearray()
        # Take in what every worker has sent so far, not only the sockets this wake-up named:
        # an entry written before a reply went out is then kept before any later read is answered.
        batch = [(connection, drain(connection)) for connection in list(buffers)]
        records = [
            Record(*marshal.loads(payload))  # noqa: S302 (see _record_frame)
            for _connection, messages in batch
            for kind, payload in messages
            if kind == RECORD
        ]
        # The workers' records of one batch in the order their answers were given.
        records.sort(key=lambda record: record.started + record.duration)
        for record in records:
            keeper.add(record)
        for connection, messages in batch:
            replies = []
            for kind, payload in messages:
                if kind != REQUEST:
                    continue
                message = json.loads(payload)
                try:
                    replies.append({"n": message["n"], "result": keeper.answer(message["op"], message)})
                except (KeyError, TypeError, ValueError) as exc:
                    replies.append({"n": message.get("n"), "error": str(exc)})
            if replies:
                with contextlib.suppress(OSError):
                    connection.sendall(b"".join(_frame(reply) for reply in replies))


# -- a worker's side --------------------------------------------------------------------------


class KeeperState:
    """The emulator state of a worker whose gateway runs several workers counting in memory."""

    shared = True

    def __init__(self, address: tuple[Path, Path], capacity: int, max_body_bytes: int, faults_possible: bool):
        self.socket_path, flags_path = address
        self.capacity = capacity
        self.max_body_bytes = max_body_bytes
        self.faults_possible = faults_possible
        with open(flags_path, "rb") as flags_file:
            self.flags = mmap.mmap(flags_file.fileno(), FLAGS.size, access=mmap.ACCESS_READ)
        self.seen_generation = FLAGS.unpack_from(self.flags)[1]
        self._writer: asyncio.StreamWriter | None = None
        self._reader_task: asyncio.Task | None = None
        self._pending: dict[int, asyncio.Future] = {}
        self._numbers = itertools.count(1)
        self._connecting: asyncio.Lock | None = None

    # -- the connection ---------------------------------------------------------

    async def _connection(self) -> asyncio.StreamWriter:
        if self._writer is not None and not self._writer.is_closing():
            return self._writer
        if self._connecting is None:
            self._connecting = asyncio.Lock()
        async with self._connecting:
            if self._writer is None or self._writer.is_closing():
                try:
                    reader, writer = await asyncio.open_unix_connection(str(self.socket_path))
                except OSError as exc:
                    raise StateUnavailable(f"state keeper unreachable: {exc}") from exc
                self._writer = writer
                self._reader_task = asyncio.get_running_loop().create_task(self._read(reader, writer))
        return self._writer

    async def _read(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                (size,) = FRAME.unpack(await reader.readexactly(FRAME.size))
                reply = json.loads(await reader.readexactly(size))
                future = self._pending.pop(reply.get("n"), None)
                if future is not None and not future.done():
                    if "error" in reply:
                        future.set_exception(StateUnavailable(f"state keeper refused: {reply['error']}"))
                    else:
                        future.set_result(reply["result"])
        except (asyncio.IncompleteReadError, OSError, ValueError):
            pass
        finally:
            writer.close()
            if self._writer is writer:
                self._writer = None
            for future in self._pending.values():
                if not future.done():
                    future.set_exception(StateUnavailable("state keeper connection lost"))
            self._pending.clear()

    async def _ask(self, op: str, timeout: float = ADMIN_TIMEOUT_SECONDS, **args: Any) -> Any:
        writer = await self._connection()
        number = next(self._numbers)
        future = asyncio.get_running_loop().create_future()
        self._pending[number] = future
        writer.write(_frame({"op": op, "n": number, **args}, REQUEST))
        try:
            async with asyncio.timeout(timeout):
                return await future
        except TimeoutError:
            self._pending.pop(number, None)
            raise StateUnavailable(f"state keeper did not answer {op} in time") from None

    # -- the state ------------------------------------------------------------------

    @property
    def armed(self) -> bool:
        """Whether a fault is in force anywhere (read from the shared flags, without asking the keeper)."""
        return self.faults_possible and FLAGS.unpack_from(self.flags)[0] > 0

    async def pick(self, route: str, method: str, path: str) -> Fault | None:
        """The fault that applies, counted by the keeper; None when none does or the keeper is unreachable."""
        try:
            document = await self._ask("pick", REQUEST_TIMEOUT_SECONDS, route=route, method=method, path=path)
        except StateUnavailable as exc:
            log.warning("no fault applied: %s", exc)
            return None
        return None if document is None else Fault.of(document)

    async def add(self, record: Record) -> None:
        """Send one record to the keeper (which redacts it when read); written before the reply goes out."""
        writer = self._writer
        if writer is None or writer.is_closing():
            try:
                writer = await self._connection()
            except StateUnavailable as exc:
                log.warning("journal entry dropped: %s", exc)
                return
        writer.write(_record_frame(record))

    async def find(self, filters: dict[str, Any]) -> list[dict[str, Any]]:
        """The newest entries matching ``filters``."""
        return await self._ask("find", filters=filters) if self.capacity else []

    async def get(self, request_id: str) -> dict[str, Any] | None:
        """The newest entry with ``request_id``."""
        return await self._ask("get", id=request_id) if self.capacity else None

    async def clear_journal(self, routes: set[str] | None = None) -> None:
        """Drop every entry, or those of ``routes``."""
        await self._ask("clear_journal", routes=None if routes is None else sorted(routes))

    async def create_fault(self, fields: dict[str, Any]) -> dict[str, Any]:
        """Store a validated fault; its document."""
        return await self._ask("create_fault", fields=fields)

    async def list_faults(self) -> list[dict[str, Any]]:
        """The faults in force, oldest first."""
        return await self._ask("list_faults")

    async def get_fault(self, fault_id: str) -> dict[str, Any] | None:
        """One fault's document, or None."""
        return await self._ask("get_fault", id=fault_id)

    async def remove_fault(self, fault_id: str) -> bool:
        """Remove one fault; False when unknown."""
        return await self._ask("remove_fault", id=fault_id)

    async def clear_faults(self, routes: set[str] | None = None) -> None:
        """Remove every fault, or those of ``routes``."""
        await self._ask("clear_faults", routes=None if routes is None else sorted(routes))

    # -- the other workers' rate-limit counters ------------------------------------

    async def counters_cleared(self, routes: set[str] | None) -> None:
        """This worker cleared the counters of ``routes``: the others clear theirs before they next count."""
        generation = await self._ask("counters_cleared", routes=None if routes is None else sorted(routes))
        if generation == self.seen_generation + 1:
            self.seen_generation = generation

    def stale(self) -> bool:
        """Whether a counter reset went through another worker since this one last counted."""
        return FLAGS.unpack_from(self.flags)[1] != self.seen_generation

    async def catch_up(self, limiter) -> None:
        """Clear this worker's counters as every reset since it last counted did."""
        try:
            caught = await self._ask("resets_since", REQUEST_TIMEOUT_SECONDS, generation=self.seen_generation)
        except StateUnavailable as exc:
            log.warning("counter resets not applied: %s", exc)
            return
        for routes in caught["resets"]:
            await limiter.clear(None if routes is None else set(routes))
        self.seen_generation = caught["generation"]

    async def close(self) -> None:
        """Close the connection to the keeper."""
        if self._writer is not None:
            self._writer.close()
        if self._reader_task is not None:
            self._reader_task.cancel()
