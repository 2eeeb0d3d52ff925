"""The bot as real processes (`python -m bot run`, HTTP mode), killed with SIGKILL and restarted.

A `Fleet` is one or more replicas on one database, each on its own port, with a supervisor that
restarts a replica that died on its own (a failed start while Slack answers 503 is a crash, as
a real process manager would see it). Each incarnation logs JSON lines to a file of its own,
so a failing run can show what the bot was doing.
"""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Replica:
    name: str
    port: int
    env: dict[str, str]
    logs: Path
    process: subprocess.Popen[bytes] | None = None
    incarnation: int = 0

    @property
    def events_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/slack/events"

    @property
    def webhook_url(self) -> str:
        """Where Meta delivers a Page's comments and messages."""
        return f"http://127.0.0.1:{self.port}/webhooks/meta"

    def start(self) -> None:
        self.incarnation += 1
        log = self.logs / f"{self.name}-{self.incarnation:03d}.log"
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "bot", "run"],
                cwd=self.logs,
                env={
                    **os.environ,
                    **self.env,
                    "PORT": str(self.port),
                    "LOG_FORMAT": "json",
                    "PYTHONUNBUFFERED": "1",  # a SIGKILL must not eat the last log lines
                },
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()

    def exited(self) -> bool:
        return self.process is not None and self.process.poll() is not None

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=0.5):
                return True
        except OSError:
            return False

    def leads(self) -> bool:
        """Whether the current incarnation has logged that it became the leader."""
        log = self.logs / f"{self.name}-{self.incarnation:03d}.log"
        try:
            text = log.read_text(errors="replace")
        except FileNotFoundError:
            return False
        leading = False
        for line in text.splitlines():
            event = _event(line)
            if event in ("leadership.leading", "leadership.lost"):
                leading = event == "leadership.leading"
        return leading

    def tail(self, lines: int = 30) -> str:
        log = self.logs / f"{self.name}-{self.incarnation:03d}.log"
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


def _event(line: str) -> str | None:
    try:
        return json.loads(line).get("event")
    except (ValueError, AttributeError):
        return None


@dataclass
class Fleet:
    """Replicas on one database; `kill()` SIGKILLs one and starts it again at once."""

    replicas: list[Replica]
    rng: random.Random
    kills: int = 0
    crashes: int = 0  # exits nobody asked for, restarted by the supervisor
    takeovers: list[float] = field(default_factory=list)  # seconds until a new leader
    killed_at: list[float] = field(default_factory=list)  # time.time() of each SIGKILL
    _stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def of(cls, count: int, env: dict[str, str], logs: Path, rng: random.Random) -> Fleet:
        replicas = [Replica(f"bot{i + 1}", free_port(), env, logs) for i in range(count)]
        return cls(replicas, rng)

    def start(self) -> None:
        for replica in self.replicas:
            replica.start()
        threading.Thread(target=self._supervise, name="supervisor", daemon=True).start()
        self.wait_healthy(timeout=60)

    def stop(self) -> None:
        self._stop.set()
        for replica in self.replicas:
            replica.stop()

    def wait_healthy(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not all(r.healthy() for r in self.replicas):
            if time.monotonic() > deadline:
                raise RuntimeError("the bot did not start:\n" + self.replicas[0].tail())
            time.sleep(0.1)

    def live(self) -> list[Replica]:
        return [r for r in self.replicas if r.process is not None and r.process.poll() is None]

    def kill(self, replica: Replica | None = None) -> Replica:
        """SIGKILL one replica (a random one unless given) and start it again at once."""
        victim = replica or self.rng.choice(self.replicas)
        with self._lock:
            self.killed_at.append(time.time())
            victim.kill()
            self.kills += 1
            victim.start()
        return victim

    def kill_leader(self, timeout: float = 30.0) -> float:
        """SIGKILL the leader; return the seconds until another replica leads."""
        leader = next((r for r in self.replicas if r.leads()), None)
        if leader is None:
            raise RuntimeError("no replica leads")
        with self._lock:
            self.killed_at.append(time.time())
            leader.kill()
            self.kills += 1
            started = time.monotonic()
            others = [r for r in self.replicas if r is not leader]
            while not any(r.leads() for r in others):
                if time.monotonic() - started > timeout:
                    raise RuntimeError(f"no new leader within {timeout} s")
                time.sleep(0.05)
            took = time.monotonic() - started
            self.takeovers.append(took)
            leader.start()
        return took

    def jobs_done(self) -> dict[str, int]:
        """Outbox jobs each replica finished, over all its incarnations: the work is shared."""
        done = {}
        for replica in self.replicas:
            logs = replica.logs.glob(f"{replica.name}-*.log")
            done[replica.name] = sum(
                log.read_text(errors="replace").count('"event": "outbox.done"') for log in logs
            )
        return done

    def _supervise(self) -> None:
        while not self._stop.wait(0.2):
            with self._lock:
                for replica in self.replicas:
                    if replica.exited() and not self._stop.is_set():
                        self.crashes += 1
                        replica.start()
