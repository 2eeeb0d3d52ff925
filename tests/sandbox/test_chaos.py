"""Chaos mode of the emulators: a seeded share of requests fails the way the real service fails,
as the real clients see it."""

from __future__ import annotations

import time
from collections import Counter

import requests
import tweepy
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.networks.x.emulator import SANDBOX_CREDENTIALS, XEmulator
from bot.networks.x.http import point_client_at
from bot.sandbox.slack_api import SlackEmulator


def test_slack_chaos_fails_about_the_given_share_with_slacks_own_answers() -> None:
    with SlackEmulator() as slack:
        slack.chaos(0.2, seed=1, timeout_after=0.3)
        client = WebClient(token="xoxb-sandbox", base_url=slack.url, timeout=0.2, retry_handlers=[])
        outcomes: Counter[str] = Counter()
        for _ in range(300):
            try:
                client.auth_test()
                outcomes["ok"] += 1
            except SlackApiError as error:
                status = error.response.status_code
                outcomes[str(status)] += 1
                if status == 429:
                    assert error.response.headers["Retry-After"] == "1"
                    assert error.response["error"] == "ratelimited"
            except OSError:  # a reset, or no answer within the client's timeout
                outcomes["network"] += 1
        failed = 300 - outcomes["ok"]
        assert 40 <= failed <= 80  # 20% of 300, give or take the dice
        assert sum(slack.faults_injected.values()) == failed
        assert outcomes["429"] and outcomes["network"] and outcomes["500"] + outcomes["503"]
        slack.calm()
        assert client.auth_test()["ok"]


def test_x_chaos_rate_limits_with_the_routes_reset_header_and_timeouts_after_handling() -> None:
    with XEmulator() as x:
        x.add_user("giulia_r", "Giulia Rossi")
        x.chaos(1.0, seed=3, timeout_after=0.3)  # every request fails
        client = tweepy.Client(**SANDBOX_CREDENTIALS)
        point_client_at(client, x.url, timeout=0.2)
        kinds: Counter[str] = Counter()
        for n in range(40):
            try:
                client.create_tweet(text=f"attempt {n}", user_auth=True)
            except tweepy.TooManyRequests as error:
                reset = int(error.response.headers["x-rate-limit-reset"])
                assert 0 < reset - time.time() <= 3
                assert error.response.headers["x-rate-limit-limit"] == "200"
                kinds["429"] += 1
            except tweepy.TwitterServerError:
                kinds["5xx"] += 1
            except requests.RequestException:
                kinds["network"] += 1
        assert kinds["429"] and kinds["5xx"] and kinds["network"]
        # "after handling" faults took effect although the client saw a failure: the ambiguous
        # case the bot must look up before sending again.
        after = sum(v for k, v in x.faults_injected.items() if "after handling" in k)
        assert len(x.sent_tweets) == after > 0


def test_a_zero_rate_means_no_faults() -> None:
    with SlackEmulator() as slack:
        slack.chaos(0.0, seed=1)
        client = WebClient(token="xoxb-sandbox", base_url=slack.url, retry_handlers=[])
        assert all(client.auth_test()["ok"] for _ in range(50))
        assert not slack.faults_injected
