"""SQLite's writers queue on a lock of ours, taken in the order it was asked for: a thread that
commits back to back (the poller ingesting a backlog) must not keep the others out."""

from __future__ import annotations

import threading
import time

import pytest

from storage.db import FairLock


def _until_queued(lock: FairLock, count: int) -> None:
    deadline = time.monotonic() + 5
    while len(lock._waiting) < count:
        assert time.monotonic() < deadline, "the waiting thread never queued"
        time.sleep(0.001)


def test_a_waiting_writer_goes_before_the_one_that_just_released() -> None:
    lock, order = FairLock(), []
    assert lock.acquire(timeout=1)

    def writer(name: str) -> None:
        assert lock.acquire(timeout=5)
        order.append(name)
        lock.release()

    first = threading.Thread(target=writer, args=("outbox",))
    first.start()
    _until_queued(lock, 1)
    second = threading.Thread(target=writer, args=("webhook",))
    second.start()
    _until_queued(lock, 2)
    lock.release()
    assert lock.acquire(timeout=5)  # asked again at once, as the poller does: third in line
    order.append("poller")
    lock.release()
    first.join()
    second.join()
    assert order == ["outbox", "webhook", "poller"]


def test_it_is_re_entrant_and_gives_up_after_the_timeout() -> None:
    lock = FairLock()
    assert lock.acquire(timeout=1) and lock.acquire(timeout=1)
    lock.release()
    outcome: list[bool] = []
    other = threading.Thread(target=lambda: outcome.append(lock.acquire(timeout=0.05)))
    other.start()
    other.join()
    assert outcome == [False] and not lock._waiting
    lock.release()
    other = threading.Thread(target=lambda: outcome.append(lock.acquire(timeout=1)))
    other.start()
    other.join()
    assert outcome == [False, True]
    with pytest.raises(RuntimeError):
        lock.release()  # held by the other thread now
