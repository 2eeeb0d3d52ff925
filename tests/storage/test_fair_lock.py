"""SQLite's writers queue on a lock of ours, taken in the order it was asked for: a thread that
commits back to back (the poller ingesting a backlog) must not keep the others out."""

from __future__ import annotations

import threading
import time

import pytest

from storage.db import FairLock


def _until_queued(lock: FairLock, count: int) -> None:
    deadline = time.monotonic() + 5
    while len(lock._waiting) + len(lock._urgent) < count:
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


def test_an_urgent_writer_goes_before_queued_background_writers_but_waits_for_the_holder() -> None:
    lock, order = FairLock(), []
    assert lock.acquire(timeout=1)  # the poller, storing a page

    def writer(name: str, urgent: bool) -> None:
        assert lock.acquire(timeout=5, urgent=urgent)
        order.append(name)
        lock.release()

    threads = []
    for count, (name, urgent) in enumerate(
        [("next page", False), ("card recorded", False), ("answer", True), ("delivery", True)],
        start=1,
    ):
        threads.append(threading.Thread(target=writer, args=(name, urgent)))
        threads[-1].start()
        _until_queued(lock, count)
    order.append("page stored")
    lock.release()
    for thread in threads:
        thread.join()
    assert order == ["page stored", "answer", "delivery", "next page", "card recorded"]
