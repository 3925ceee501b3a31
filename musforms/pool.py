"""Chunks of independent work spread over the cores: the one pool that generate, collect and
the minutes use.

Results come back in the order the chunks went in, with at most a few chunks per worker
under way: ``pool.map`` would queue a whole round at once and keep every result until it is
read, memory in proportion to the round. Below ``threshold`` items a pool costs more than it
saves, so the work is done in this process instead, by the same functions.

Workers are started from a small server process ("forkserver"), not forked from this one: a
fork would give each worker a copy of everything the main process holds by then.

Workers die with the main process, however it ends (a kill included), and so never write into
its output once it is gone. Their parent is the server, not the main process, and the server
only stops once no worker is left (each holds the end of the pipe whose closing tells it that
the main process is gone), so neither would notice by itself: each worker watches a pipe of
its own, a "lifeline" whose other end only the main process holds, and kills itself when it
closes. The server then stops as the last worker goes.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import threading
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Generic, TypeVar

from musforms import files

T = TypeVar("T")
R = TypeVar("R")
A = TypeVar("A")

IN_FLIGHT = 4  # chunks under way per worker


def cores() -> int:
    return os.cpu_count() or 1


@dataclass(frozen=True)
class Task(Generic[T, R, A]):
    """Work to spread: ``run`` does one chunk in a worker that ``setup(arg)`` prepared once;
    below ``threshold`` items it is all done in this process."""

    run: Callable[[list[T]], list[R]]
    setup: Callable[[A], None]
    threshold: int


class OrderedPool(Generic[T, R, A]):
    """Runs a :class:`Task` on chunks of items, in worker processes once at least its
    ``threshold`` items have come; each worker (or this process) is prepared with ``arg``.

    Use :meth:`map` for a stream of chunks, or :meth:`put` and :meth:`finish` when chunks
    are made as results are taken. ``alongside`` are more tasks (they must pickle) for the
    first workers that are free, or for this process when no workers are started; with
    ``early`` (and more than one worker) workers are started for them at once, however few
    items come, so that they run beside this process's work from the start.
    """

    def __init__(
        self,
        task: Task[T, R, A],
        arg: A,
        *,
        workers: int | None,
        alongside: Sequence[Callable[[], None]] = (),
        early: bool = False,
    ) -> None:
        self.task = task
        self.arg = arg
        self.workers = workers if workers is not None else cores()
        self.alongside = list(alongside)
        self._alongside_done: list[Future[None]] = []
        self._waiting: list[list[T]] = []
        self._pool: ProcessPoolExecutor | None = None
        self._local_ready = False
        self._pending: deque[Future[list[R]]] = deque()
        if early and self.alongside and self.workers > 1:
            self._start()

    def __enter__(self) -> OrderedPool[T, R, A]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def map(self, chunks: Iterable[list[T]]) -> Iterator[list[R]]:
        """Each chunk's results, in order."""
        for chunk in chunks:
            yield from self.put(chunk)
        yield from self.finish()

    def put(self, chunk: list[T]) -> Iterator[list[R]]:
        """Send one chunk; the results of earlier chunks that are ready to be taken."""
        if self._pool is None and self.workers > 1:
            self._waiting.append(chunk)
            if sum(len(c) for c in self._waiting) < self.task.threshold:
                return
            self._start()
            waiting, self._waiting = self._waiting, []
            for c in waiting:
                yield from self._submit(c)
            return
        yield from self._submit(chunk)

    def finish(self) -> Iterator[list[R]]:
        """The results of every chunk still waiting or under way, in order."""
        if self._pool is None and self._waiting:
            # Too few to be worth a pool: done here, in one go.
            waiting, self._waiting = self._waiting, []
            yield self._run_here([item for c in waiting for item in c])
        alongside, self.alongside = self.alongside, []
        for task in alongside:
            task()
        while self._pending:
            yield self._pending.popleft().result()
        done, self._alongside_done = self._alongside_done, []
        for future in done:
            future.result()

    def close(self) -> None:
        """Stop the workers (after an error: what is under way is cancelled)."""
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None

    def _start(self) -> None:
        self._pool = ProcessPoolExecutor(
            self.workers,
            mp_context=_context(),
            initializer=_start_worker,
            initargs=(_lifeline(), files.current_space(), self.task.setup, self.arg),
        )
        self._alongside_done = [self._pool.submit(task) for task in self.alongside]
        self.alongside = []

    def _submit(self, chunk: list[T]) -> Iterator[list[R]]:
        if self._pool is None:
            yield self._run_here(chunk)
            return
        self._pending.append(self._pool.submit(self.task.run, chunk))
        while len(self._pending) >= IN_FLIGHT * self.workers:
            yield self._pending.popleft().result()

    def _run_here(self, chunk: list[T]) -> list[R]:
        if not self._local_ready:
            self.task.setup(self.arg)
            self._local_ready = True
        return self.task.run(chunk)


# The modules of the tasks the pool runs, imported once by the server that starts the workers
# (before its first worker), so that each worker starts with them: imported in every worker
# of every pool, they took about half a second of a core each time.
PRELOAD = (
    "musforms.collect.read",
    "musforms.conclusions",
    "musforms.generate",
    "musforms.outputs.calendar",
    "musforms.outputs.followup",
    "musforms.outputs.minutes",
)


def _context() -> multiprocessing.context.BaseContext:
    context = multiprocessing.get_context("forkserver")
    # Only heeded before the server starts; it holds these modules, no data of this process.
    context.set_forkserver_preload(list(PRELOAD))
    return context


_LIFELINE: tuple[int, Connection, Connection] | None = None


def _lifeline() -> Connection:
    """The end of this process's lifeline that its workers watch. The other end is never
    written to, nor given to any process: it closes when this process ends, however it ends."""
    global _LIFELINE
    if _LIFELINE is None or _LIFELINE[0] != os.getpid():
        watched, held = multiprocessing.Pipe(duplex=False)
        _LIFELINE = (os.getpid(), watched, held)
    return _LIFELINE[1]


def _start_worker(
    lifeline: Connection, space: Path | None, setup: Callable[[A], None], arg: A
) -> None:
    """A worker's set-up: it dies with the main process; its scratch files go where the main
    process's do; then the task's own set-up."""
    threading.Thread(
        target=_die_with_main, args=(lifeline,), name="musforms-lifeline", daemon=True
    ).start()
    files.use_space(space)
    setup(arg)


def _die_with_main(lifeline: Connection) -> None:
    with contextlib.suppress(EOFError, OSError):
        lifeline.recv_bytes()  # nothing is ever sent: this returns when the main process ends
    # At once, as the main process went: no clean-up, no file finished after it.
    os.kill(os.getpid(), signal.SIGKILL)


def ordered_map(
    task: Task[T, R, A], arg: A, chunks: Iterable[list[T]], workers: int | None
) -> Generator[list[R], None, None]:
    """Each chunk's results, in order (:meth:`OrderedPool.map`); the workers stop when the
    results are all taken, or when the caller stops taking them."""
    with OrderedPool(task, arg, workers=workers) as pool:
        yield from pool.map(chunks)
