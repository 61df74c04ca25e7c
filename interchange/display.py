"""Progress for commands that take more than a second: a rich spinner on stderr, with the step
being done. Off with ``--quiet`` and when stderr is not a terminal (a pipe, a log, CI), so scripts
read only the command's answer."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.status import Status


class _Settings:
    quiet = False
    #: The status shown now: a step inside a step updates it (rich shows one live display at a time).
    shown: Status | None = None


settings = _Settings()  # set once per run by the root command's --quiet


@contextmanager
def working(message: str, *, console: Console | None = None) -> Iterator[Callable[[str], None]]:
    """Show ``message`` with a spinner while the block runs; the block may call the yielded
    function to say which step it is at."""
    if settings.shown is not None:  # inside another step: say so on its spinner
        outer = settings.shown
        outer.update(message)
        yield lambda step: outer.update(f"{message}: {step}")
        return
    console = console or Console(stderr=True)
    if settings.quiet or not console.is_terminal:
        yield lambda _step: None
        return
    with console.status(message) as status:
        settings.shown = status
        try:
            yield lambda step: status.update(f"{message}: {step}")
        finally:
            settings.shown = None
