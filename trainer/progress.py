"""Progress bars (rich) for epochs and feature caching; silent when not on a terminal."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager


@contextmanager
def progress_bar(enabled: bool, description: str, total: int) -> Iterator[Callable[..., None]]:
    """Yield ``advance(n=1, **fields)``; a rich bar when ``enabled``, a no-op otherwise."""
    if not enabled:
        yield lambda n=1, **fields: None
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        TextColumn("{task.fields[info]}"),
        transient=False,
    ) as bar:
        task = bar.add_task(description, total=total, info="")

        def advance(n: int = 1, info: str = "") -> None:
            bar.update(task, advance=n, info=info)

        yield advance
