"""Count the MongoDB commands a piece of code sends (round trips), per database.

PyMongo's command monitoring reports every command of clients created after the listener is
registered, so this module registers one listener when it is imported: import it before the
clients under test are built. Recording is per database name, so tests on their own databases do
not see each other's commands.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from pymongo import monitoring


@dataclass(frozen=True)
class Command:
    database: str
    name: str
    collection: str
    statements: int = 1  # of a write command: the updates (inserts, deletes) it carries in one round trip
    filter_fields: tuple[str, ...] = ()  # the fields its filter names (of a write: its first statement's)


@dataclass
class CommandLog:
    database: str
    commands: list[Command] = field(default_factory=list)

    def count(self, name: str | None = None, collection: str | None = None, *, filtering: str | None = None) -> int:
        """Round trips; `filtering`: only the finds and findAndModifys whose filter names that field."""
        return sum(
            1
            for c in self.commands
            if (name is None or c.name == name)
            and (collection is None or c.collection == collection)
            and (filtering is None or filtering in c.filter_fields)
        )

    def statements(self, name: str, collection: str | None = None) -> int:
        """The statements of the `name` commands (e.g. each `UpdateOne` of a bulk write), not the round trips."""
        return sum(
            c.statements for c in self.commands if c.name == name and (collection is None or c.collection == collection)
        )

    def summary(self) -> Counter[tuple[str, str]]:
        return Counter((c.name, c.collection) for c in self.commands)

    def clear(self) -> None:
        self.commands.clear()


_STATEMENTS = {"update": "updates", "insert": "documents", "delete": "deletes"}


class _Listener(monitoring.CommandListener):
    def __init__(self) -> None:
        self.logs: dict[str, list[CommandLog]] = {}

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        logs = self.logs.get(event.database_name)
        if not logs:
            return
        target = event.command.get(event.command_name)
        batch = event.command.get(_STATEMENTS.get(event.command_name, ""))
        query = event.command.get("filter", event.command.get("query"))
        if query is None and event.command_name in ("update", "delete") and isinstance(batch, list) and batch:
            query = batch[0].get("q")  # a write's first statement: tells a version-checked save from a relay's mark
        command = Command(
            event.database_name,
            event.command_name,
            target if isinstance(target, str) else "",
            len(batch) if isinstance(batch, list) else 1,
            tuple(query) if isinstance(query, dict) else (),
        )
        for log in logs:
            log.commands.append(command)

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


_LISTENER = _Listener()
monitoring.register(_LISTENER)


@contextmanager
def record_commands(database: str) -> Iterator[CommandLog]:
    """Every command sent to `database` (by clients built after this module was imported)."""
    log = CommandLog(database)
    _LISTENER.logs.setdefault(database, []).append(log)
    try:
        yield log
    finally:
        _LISTENER.logs[database].remove(log)
