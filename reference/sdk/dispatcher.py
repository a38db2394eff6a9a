"""The SDK's own thread: network happenings, CallKit deliveries and listener callbacks run
here one at a time, in the order they were submitted, like a real SDK's callback queue."""

from __future__ import annotations

import threading
import traceback
from collections import deque
from typing import Callable


class Dispatcher:
    def __init__(self, name: str = "exovoice-dispatcher") -> None:
        self._tasks: deque[Callable[[], None]] = deque()
        self._cond = threading.Condition()
        self._pending = 0
        self._closed = False
        self.errors: list[BaseException] = []  # what tasks raised, for settle() to report
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def submit(self, task: Callable[[], None]) -> None:
        with self._cond:
            if self._closed:
                raise RuntimeError("the client is closed")
            self._tasks.append(task)
            self._pending += 1
            self._cond.notify_all()

    @property
    def on_thread(self) -> bool:
        return threading.current_thread() is self._thread

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._tasks and not self._closed:
                    self._cond.wait()
                if not self._tasks:
                    return
                task = self._tasks.popleft()
            try:
                task()
            except BaseException as e:  # noqa: BLE001 - a task's failure must not kill the SDK
                e.__notes__ = getattr(e, "__notes__", []) + [traceback.format_exc(limit=8)]
                self.errors.append(e)
            finally:
                with self._cond:
                    self._pending -= 1
                    self._cond.notify_all()

    def settle(self, timeout: float = 5.0) -> bool:
        """Wait until every submitted task (and every task they submitted) has run. From the
        dispatcher thread itself this returns at once: a task cannot wait for its successors."""
        if self.on_thread:
            return True
        with self._cond:
            return self._cond.wait_for(lambda: self._pending == 0, timeout=timeout)

    def take_errors(self) -> list[BaseException]:
        out, self.errors = self.errors, []
        return out

    def close(self, timeout: float = 5.0) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        if not self.on_thread:
            self._thread.join(timeout)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()
