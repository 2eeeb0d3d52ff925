"""Priority scoring, keyword matching, ordinals and the PRIORITY_KEYWORDS setting, table-driven."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot.domain.priority import (
    DEFAULT_URGENCY_KEYWORDS,
    PriorityInput,
    PriorityRules,
    compact_count,
    keyword_hits,
    ordinal,
    parse_keywords,
    score_priority,
)
from bot.domain.sla import Priority

RULES = PriorityRules()
# Nothing notable: a neutral question from a small account, first contact.
PLAIN = PriorityInput(
    vip_note=None,
    followers=120,
    verified=False,
    sentiment_score=0.0,
    text="Quando arriva il mio ordine?",
    contacts_in_window=1,
)


def facts(**changes: object) -> PriorityInput:
    return replace(PLAIN, **changes)


@pytest.mark.parametrize(
    ("changes", "priority", "reasons"),
    [
        # Nothing at all.
        ({}, Priority.NORMAL, ()),
        # Each factor alone.
        ({"vip_note": "journalist, Corriere"}, Priority.HIGH, ("journalist, Corriere (VIP)",)),
        ({"vip_note": "   "}, Priority.NORMAL, ()),
        ({"followers": 48_000}, Priority.HIGH, ("48k followers",)),
        ({"followers": 250_000}, Priority.URGENT, ("250k followers",)),
        ({"followers": 1_200_000}, Priority.URGENT, ("1.2M followers",)),
        ({"verified": True}, Priority.NORMAL, ("verified",)),
        ({"sentiment_score": -0.7}, Priority.NORMAL, ("angry",)),
        ({"text": "Voglio il RIMBORSO"}, Priority.NORMAL, ('says "RIMBORSO"',)),
        ({"contacts_in_window": 3}, Priority.NORMAL, ("3rd contact this week",)),
        # Two soft signals make it high, four urgent.
        (
            {"sentiment_score": -0.5, "text": "è una truffa"},
            Priority.HIGH,
            ("angry", 'says "truffa"'),
        ),
        (
            {"verified": True, "sentiment_score": -0.5, "text": "refund!", "contacts_in_window": 4},
            Priority.URGENT,
            ("verified", "angry", 'says "refund"', "4th contact this week"),
        ),
        # A strong fact plus signals.
        (
            {"vip_note": "influencer", "sentiment_score": -0.4},
            Priority.HIGH,
            ("influencer (VIP)", "angry"),
        ),
        (
            {"vip_note": "influencer", "sentiment_score": -0.4, "contacts_in_window": 5},
            Priority.URGENT,
            ("influencer (VIP)", "angry", "5th contact this week"),
        ),
        (
            {"followers": 12_500, "verified": True},
            Priority.HIGH,
            ("12.5k followers", "verified"),
        ),
        # Heavier reasons first: 4 points of followers before the VIP's 2.
        (
            {"vip_note": "CEO of a partner", "followers": 300_000},
            Priority.URGENT,
            ("300k followers", "CEO of a partner (VIP)"),
        ),
        # The issue's example.
        (
            {
                "vip_note": "journalist, Corriere",
                "followers": 48_000,
                "sentiment_score": -0.6,
                "contacts_in_window": 3,
            },
            Priority.URGENT,
            ("journalist, Corriere (VIP)", "48k followers", "angry", "3rd contact this week"),
        ),
        # Positive with nothing else: low.
        ({"text": "Grazie mille, tutto risolto!"}, Priority.LOW, ("thank-you",)),
        ({"text": "Thanks a lot :)"}, Priority.LOW, ("thank-you",)),
        ({"text": "Love the new app", "sentiment_score": 0.8}, Priority.LOW, ("positive",)),
        # ... but not a question that ends in thanks, a negative thanks, or with anything else.
        ({"text": "Dov'è il mio pacco? Grazie"}, Priority.NORMAL, ()),
        ({"text": "Grazie per niente", "sentiment_score": -0.2}, Priority.NORMAL, ()),
        ({"text": "Thanks!", "verified": True}, Priority.NORMAL, ("verified",)),
        ({"text": "Thanks!", "followers": 20_000}, Priority.HIGH, ("20k followers",)),
        ({"text": "Grazie", "contacts_in_window": 3}, Priority.NORMAL, ("3rd contact this week",)),
    ],
)
def test_score_priority(
    changes: dict[str, object], priority: Priority, reasons: tuple[str, ...]
) -> None:
    result = score_priority(facts(**changes), RULES)
    assert (result.priority, result.reasons) == (priority, reasons)


def test_the_issue_example_reads_as_on_the_card() -> None:
    example = facts(
        vip_note="journalist, Corriere",
        followers=48_000,
        sentiment_score=-0.6,
        contacts_in_window=3,
    )
    result = score_priority(example, RULES)
    assert result.priority == Priority.URGENT
    assert " · ".join(result.reasons) == (
        "journalist, Corriere (VIP) · 48k followers · angry · 3rd contact this week"
    )


@pytest.mark.parametrize(
    ("changes", "priority"),
    [
        ({"followers": 9_999}, Priority.NORMAL),
        ({"followers": 10_000}, Priority.HIGH),
        ({"followers": 99_999}, Priority.HIGH),
        ({"followers": 100_000}, Priority.URGENT),
        ({"sentiment_score": -0.29, "verified": True}, Priority.NORMAL),
        ({"sentiment_score": -0.3, "verified": True}, Priority.HIGH),
        ({"contacts_in_window": 2, "verified": True}, Priority.NORMAL),
        ({"contacts_in_window": 3, "verified": True}, Priority.HIGH),
        ({"text": "ok", "sentiment_score": 0.29}, Priority.NORMAL),
        ({"text": "ok", "sentiment_score": 0.3}, Priority.LOW),
        # Three points is still high; the fourth makes it urgent.
        ({"vip_note": "VIP", "verified": True}, Priority.HIGH),
        ({"vip_note": "VIP", "verified": True, "sentiment_score": -1.0}, Priority.URGENT),
    ],
)
def test_thresholds_at_the_boundary(changes: dict[str, object], priority: Priority) -> None:
    assert score_priority(facts(**changes), RULES).priority == priority


def test_rules_are_configurable() -> None:
    rules = PriorityRules(
        followers_high=500,
        followers_urgent=5_000,
        urgency_keywords=("reso",),
        repeat_contacts=2,
        repeat_window_days=14,
    )
    result = score_priority(
        facts(followers=600, text="Voglio fare un reso", contacts_in_window=2), rules
    )
    assert result.priority == Priority.URGENT
    assert result.reasons == ("600 followers", 'says "reso"', "2nd contact in 14 days")
    # The default keywords no longer count.
    assert score_priority(facts(text="rimborso"), rules).reasons == ()


@pytest.mark.parametrize(
    "changes",
    [
        {"followers_high": 0},
        {"followers_high": 200_000},  # above the urgent threshold
        {"repeat_contacts": 1},
        {"repeat_window_days": 0},
    ],
)
def test_rules_reject_nonsense(changes: dict[str, int]) -> None:
    with pytest.raises(ValueError):
        PriorityRules(**changes)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "hits"),
    [
        # Case, accents and inflections.
        ("URGENTE!!!", ("URGENTE",)),
        ("rispondete urgentemente", ("urgentemente",)),
        ("It's urgent, please", ("urgent",)),
        ("I need this urgently", ("urgently",)),
        ("è un'urgenza", ("urgenza",)),
        ("conto bloccato", ("bloccato",)),
        ("carta bloccata", ("bloccata",)),
        ("siamo BLOCCÀTI", ("BLOCCÀTI",)),
        ("chiedo il rimborso", ("rimborso",)),
        ("mi avete rimborsato metà", ("rimborsato",)),
        ("ho chiamato l'avvocato", ("avvocato",)),
        ("vi denuncio", ("denuncio",)),
        ("I was scammed", ("scammed",)),
        ("order cancelled twice", ("cancelled",)),
        ("voglio cancellare l'ordine", ("cancellare",)),
        ("refunds please", ("refunds",)),
        ("this is fraudulent", ("fraudulent",)),
        ("please reply ASAP", ("ASAP",)),
        ("we'll take legal action", ("legal action",)),
        # Several words, each once, in text order.
        ("truffa! voglio il rimborso, truffa", ("truffa", "rimborso")),
        # No hits inside or at the start of other words.
        ("insurgent", ()),
        ("spaghetti con gli scampi", ()),
        ("risotto al tartufo e truffle oil", ()),
        ("il cancello è rotto", ()),
        ("blockbuster", ()),
        ("legal", ()),
        ("", ()),
    ],
)
def test_keyword_hits(text: str, hits: tuple[str, ...]) -> None:
    assert keyword_hits(text, DEFAULT_URGENCY_KEYWORDS) == hits


def test_configured_keywords_fold_accents_too() -> None:
    assert keyword_hits("Perché?", ("perche",)) == ("Perché",)
    assert keyword_hits("perche", ("perché",)) == ("perche",)


def test_keyword_reason_names_at_most_two_words() -> None:
    result = score_priority(facts(text="truffa, rimborso, avvocato"), RULES)
    assert result.reasons == ('says "truffa", "rimborso"',)


@pytest.mark.parametrize(
    ("n", "text"),
    [
        (1, "1st"),
        (2, "2nd"),
        (3, "3rd"),
        (4, "4th"),
        (10, "10th"),
        (11, "11th"),
        (12, "12th"),
        (13, "13th"),
        (20, "20th"),
        (21, "21st"),
        (22, "22nd"),
        (23, "23rd"),
        (101, "101st"),
        (111, "111th"),
        (112, "112th"),
        (0, "0th"),
    ],
)
def test_ordinal(n: int, text: str) -> None:
    assert ordinal(n) == text


@pytest.mark.parametrize(
    ("n", "text"),
    [
        (999, "999"),
        (1_000, "1k"),
        (48_000, "48k"),
        (48_500, "48.5k"),
        (999_949, "999.9k"),
        (999_999, "1M"),
        (1_200_000, "1.2M"),
        (3_000_000, "3M"),
    ],
)
def test_compact_count(n: int, text: str) -> None:
    assert compact_count(n) == text


@pytest.mark.parametrize(
    ("setting", "keywords"),
    [
        ("", DEFAULT_URGENCY_KEYWORDS),
        ("   ", DEFAULT_URGENCY_KEYWORDS),
        ("Reso", ("reso",)),
        (" reso , Garanzia,legal  action ", ("reso", "garanzia", "legal action")),
        ("reso,RESO", ("reso",)),
    ],
)
def test_parse_keywords(setting: str, keywords: tuple[str, ...]) -> None:
    assert parse_keywords(setting) == keywords


@pytest.mark.parametrize("setting", ["reso,,garanzia", "reso,", ", reso", "reso, !!"])
def test_parse_keywords_rejects_empty_items(setting: str) -> None:
    with pytest.raises(ValueError, match="PRIORITY_KEYWORDS"):
        parse_keywords(setting)
