"""One platform as N bridge workers behind the Kamailio front, driven like one process.

`exovoice demo --workers N` and the conformance target (`EXOVOICE_SIP_WORKERS=N exovoice
conform --client reference-sip`) start the platform this way when N > 1; with 1 they start
one `sipserver` process and no front, as before. What the workers share, and how:

* the secret, so every worker signs and accepts the same tokens;
* the subscriber records (their sids), as workers of one platform share a database: the ones
  in the config through ``subscriber_sids``, later ones written to every worker
  (`Cluster.provision`, the ``subscriber`` command);
* push sessions: each worker names its own (``w2-s...``) and knows the others' API URLs (the
  ``peers`` command), so the SDK's take, sent to the one sessions URL it knows, is forwarded
  to the worker holding the call.

The caller's INVITE goes to the front (`KamailioFront`), which picks the worker.
"""

from __future__ import annotations

import secrets
import threading
import time
from pathlib import Path
from typing import Any, Callable

from ..procs.child import Child, ChildError
from .front import KamailioFront, available

WORKER_CAPACITY = 1  # behind the front: one call each, two pjsua slots left for teardowns
# commands every worker must carry out; the rest act on whichever worker holds the call
EVERY_WORKER = frozenset({"route", "peers", "subscriber", "quit"})


def unavailable(workers: int) -> str | None:
    """None when a platform of `workers` workers can run here, else the one-line reason."""
    if workers < 1:
        return f"the platform needs at least 1 worker (got {workers})"
    if workers == 1:
        return None
    why = available()
    return None if why is None else (
        f"{workers} workers need the Kamailio front, and {why}; ask for 1 worker")


def worker_configs(config: dict[str, Any], workers: int) -> list[dict[str, Any]]:
    """The sipserver config of each worker: `config` with one secret (made if missing),
    shared subscriber sids, a worker id and the front's capacity per worker."""
    secret = config.get("secret_hex") or secrets.token_bytes(32).hex()
    sids = dict(config.get("subscriber_sids") or {})
    for name in config.get("subscribers", []):
        sids.setdefault(name, secrets.token_hex(16))
    return [{**config, "secret_hex": secret, "subscriber_sids": sids,
             "worker_id": f"w{i + 1}", "capacity": WORKER_CAPACITY} for i in range(workers)]


def front_for(readies: list[dict[str, Any]], exophone: str) -> KamailioFront:
    """A started front before workers whose ready lines are `readies`; its user is the
    exophone's number, so its address reads like a worker's."""
    return KamailioFront([f"sip:127.0.0.1:{r['sip_port']}" for r in readies],
                         user=exophone.removeprefix("sip:")).start()


def peers_of(readies: list[dict[str, Any]]) -> dict[str, str]:
    """Worker id -> its API URL (what the ``peers`` command tells every worker)."""
    return {f"w{i + 1}": str(r["api_url"]) for i, r in enumerate(readies)}


class Cluster:
    """`workers` sipserver processes and their front, with one process's face: `ready` (the
    exophone is the front's, the API the first worker's), `send`, `expect`, `recent`,
    `close`. Events of every worker go to `on_event` and one backlog."""

    def __init__(self, config: dict[str, Any], workers: int, *, name: str = "platform",
                 on_event: Callable[[dict[str, Any]], None] | None = None,
                 log_dir: Path | None = None) -> None:
        why = unavailable(workers)
        if why is not None:
            raise ChildError(why)
        self.name = name
        self.on_event = on_event
        self._cond = threading.Condition()
        self._backlog: list[dict[str, Any]] = []
        self.workers: list[Child] = []
        self.front: KamailioFront | None = None
        exophone = str(config["account"].get("sip_exophone") or "sip:exotel")
        try:
            for i, cfg in enumerate(worker_configs(config, workers)):
                self.workers.append(Child(
                    "exovoice.reference.platform.sipserver", "--config", "-",
                    name=f"{name} worker {i + 1}", on_event=self._event, stdin_first=cfg,
                    stderr=None if log_dir is None else log_dir / f"{name}-w{i + 1}.log"))
            readies = [w.ready for w in self.workers]
            self.front = front_for(readies, exophone)
            for w in self.workers:
                w.send("peers", api_urls=peers_of(readies))
        except BaseException:
            self.close()
            raise
        first = readies[0]
        self.ready: dict[str, Any] = {
            **first, "sip_port": self.front.port,
            "sip_uri": f"{exophone}@{self.front.host}:{self.front.port}",
            "workers": [{"sip_port": r["sip_port"], "api_url": r["api_url"], "pid": r["pid"]}
                        for r in readies]}

    def _event(self, ev: dict[str, Any]) -> None:
        if self.on_event is not None:
            self.on_event(ev)
        if ev.get("event") in ("ready", "noise", "<eof>"):
            return
        with self._cond:
            self._backlog.append(ev)
            del self._backlog[:-2000]
            self._cond.notify_all()

    def send(self, cmd: str, timeout: float = 10.0, **kw: Any) -> dict[str, Any]:
        """A command as to one platform process: carried out by every worker (route,
        peers, subscriber, quit); `cdrs` merged from all; the rest (media, ring_timeout)
        by the worker whose call it is, the others' refusals ignored. Raises ChildError
        when it fails everywhere (or, for the first kind, anywhere)."""
        replies, errors = [], []
        for w in self.workers:
            try:
                replies.append(w.send(cmd, timeout, **kw))
            except ChildError as e:
                errors.append(str(e))
        if cmd in EVERY_WORKER and errors or not replies:
            raise ChildError("; ".join(errors))
        if cmd == "cdrs":
            cdrs = [c for r in replies for c in r.get("cdrs") or []]
            return {**replies[0], "cdrs": sorted(cdrs, key=lambda c: c.get("start_time") or 0)}
        return replies[0]

    def provision(self, subscriber: str) -> None:
        """A subscriber record on every worker, one sid (as a shared database would hold)."""
        self.send("subscriber", name=subscriber, sid=secrets.token_hex(16))

    def expect(self, pred: Callable[[dict[str, Any]], bool], timeout: float = 5.0
               ) -> dict[str, Any]:
        """The first event of any worker matching `pred` (taken out), waiting `timeout`."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for ev in self._backlog:
                    if pred(ev):
                        self._backlog.remove(ev)
                        return ev
                left = deadline - time.monotonic()
                if left <= 0:
                    raise ChildError(f"{self.name} said nothing matching within {timeout:g} s")
                self._cond.wait(left)

    def recent(self, pred: Callable[[dict[str, Any]], bool], n: int = 5) -> list[dict[str, Any]]:
        with self._cond:
            return [ev for ev in self._backlog if pred(ev)][-n:]

    def close(self) -> None:
        if self.front is not None:
            self.front.close()
            self.front = None
        for w in self.workers:
            w.close()
        self.workers = []


__all__ = ["EVERY_WORKER", "WORKER_CAPACITY", "Cluster", "front_for", "peers_of",
           "unavailable", "worker_configs"]
