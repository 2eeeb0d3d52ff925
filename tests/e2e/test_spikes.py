"""The spike alert end to end: negative mentions far above the usual for that moment of the
week raise one alert in the support channel (the on-call agent mentioned, top words, examples),
once per incident, and a second message when it subsides."""

from __future__ import annotations

from datetime import timedelta

from bot.domain.spikes import Decision
from bot.sandbox.world import CHANNEL, World


def alerts(world: World) -> list[str]:
    return [
        m["text"]
        for m in world.slack.messages(CHANNEL)
        if "Possible incident" in m["text"] or "has subsided" in m["text"]
    ]


def test_a_wave_of_negative_posts_alerts_once_and_says_when_it_subsides(bot: World) -> None:
    spikes = bot.app.services.spikes
    assert spikes is not None
    bot.care("UCARLA", "oncall set <@UANNA|anna> weekly mon 09:00")
    bot.mention("calm_1", "grazie mille, tutto ok")
    assert spikes.check() == Decision.NOTHING
    for n in range(12):
        bot.customer(f"angry_{n}", verified=n < 3)
        bot.mention(f"angry_{n}", f"la vostra app è down, il login non funziona, vergogna {n}")
    assert spikes.check() == Decision.ALERT
    bot.settle()
    [alert] = alerts(bot)
    assert alert.startswith(":rotating_light: *Possible incident*: 12 negative posts in 15 min")
    assert "(usually 0)" in alert and "top words: app, down, login" in alert
    assert "3 from verified accounts" in alert and "<@UANNA>" in alert
    assert "example 1" in alert

    assert spikes.check() == Decision.ONGOING  # once per incident
    bot.clock.advance(timedelta(minutes=20))
    assert spikes.check() == Decision.ONGOING  # calm starts now
    bot.clock.advance(timedelta(minutes=11))
    assert spikes.check() == Decision.SUBSIDED
    bot.settle()
    assert len(alerts(bot)) == 2 and "has subsided" in alerts(bot)[1]
    assert spikes.check() == Decision.NOTHING


def test_a_few_angry_posts_at_night_are_no_incident(bot: World) -> None:
    spikes = bot.app.services.spikes
    assert spikes is not None
    for n in range(4):
        bot.mention(f"night_{n}", "servizio pessimo, vergogna")
    assert spikes.check() == Decision.NOTHING
    bot.settle()
    assert alerts(bot) == []
