"""Awaiting a task's outcome from any asyncio loop, with asyncio's conventions.

The awaitable is the loop's own future (C-implemented ``__await__``), so no frame of this
binding appears in the traceback of an exception raised through ``await``: the user's frame is
followed by the task's own frames. Cancelling the awaiting asyncio task cancels that future,
which calls ``on_cancel`` (the handle's abort); ``asyncio.shield`` keeps it from being cancelled.
"""
from __future__ import annotations

import asyncio
from typing import Any, Callable, Generator, Optional

from ._core import OK, Slot


def _settle(fut: "asyncio.Future[Any]", slot: Slot) -> None:  # on the loop's thread
    if fut.done():
        return
    if slot.state == OK:
        fut.set_result(slot.value)
    else:
        fut.set_exception(slot.error())


def await_slot(slot: Slot, on_cancel: Optional[Callable[[], None]]) -> Generator[Any, None, Any]:
    loop = asyncio.get_running_loop()
    fut = loop.create_future()

    def done(s: Slot) -> None:  # any thread (the task's drop_arg)
        if loop.is_closed():
            return
        try:
            loop.call_soon_threadsafe(_settle, fut, s)
        except RuntimeError:  # the loop closed meanwhile
            pass

    if on_cancel is not None:
        def cancelled(f: "asyncio.Future[Any]") -> None:
            if f.cancelled():
                on_cancel()
        fut.add_done_callback(cancelled)
    slot.add_done_callback(done)
    return fut.__await__()
