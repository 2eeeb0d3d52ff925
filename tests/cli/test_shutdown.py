"""SIGTERM: the bot stops taking work, finishes what is in hand, and exits 0."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time

import requests


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_sigterm_stops_the_running_bot_cleanly(tmp_path) -> None:
    port = free_port()
    env = {**os.environ, "LOG_FORMAT": "json", "PORT": str(port)}
    bot = subprocess.Popen(
        [sys.executable, "-m", "bot", "run", "--sandbox"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    assert bot.stdout is not None
    for line in bot.stdout:  # wait until it runs and has mirrored the waiting mention
        lines.append(line)
        if "sandbox.slack_message" in line:
            break
    # Socket Mode, as a team runs it; /healthz still on $PORT, with the connection's state.
    health = requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
    assert health.status_code == 200
    assert health.json()["slack"]["transport"] == "socket_mode"
    assert health.json()["slack"]["connected"] is True
    bot.send_signal(signal.SIGTERM)
    started = time.monotonic()
    output, _ = bot.communicate(timeout=30)
    lines += output.splitlines()
    assert bot.returncode == 0, "\n".join(lines[-20:])
    assert time.monotonic() - started < 12  # at most 10 s for the job in hand
    log = "\n".join(lines)
    assert '"event": "carebridge.stopping"' in log and '"signal": "SIGTERM"' in log
    assert '"event": "carebridge.stopped"' in log and '"finished_in_time": true' in log
    assert "Traceback" not in log
    assert '"event": "socket_mode.connected"' in log
    for line in lines:  # no library's line breaks the JSON format
        assert isinstance(json.loads(line), dict), line
    # the logs of the whole run carry no secret, whatever logged them
    for secret in (
        "xoxb-sandbox",
        "sandbox-signing-secret",
        "sandbox-consumer-key",
        "sandbox-consumer-secret",
        "sandbox-access-token",
    ):
        assert secret not in log, secret
