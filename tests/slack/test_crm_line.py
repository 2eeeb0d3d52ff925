"""The card's CRM line: the CRM's name, id and facts, escaped, or nothing."""

from __future__ import annotations

from bot.domain.crm import CrmFacts
from bot.domain.model import Status, Visibility
from bot.slack.blocks import Card, Customer, conversation_card, crm_line


def test_the_line_names_the_customer_as_the_crm_knows_them_then_the_facts() -> None:
    facts = CrmFacts("Giulia Rossi", "4411", ("Customer since 2019", "fiber plan"))
    assert (
        crm_line(facts)
        == ":card_index: CRM: Giulia Rossi (4411) · Customer since 2019 · fiber plan"
    )
    assert (
        crm_line(CrmFacts("", "4411", ("fiber plan",))) == ":card_index: CRM: (4411) · fiber plan"
    )
    assert crm_line(CrmFacts("", "", ())) == ""
    assert crm_line(None) == ""


def test_the_line_follows_the_history_line_and_is_escaped() -> None:
    card = Card(
        conversation_id=1,
        network_label="X",
        customer=Customer("Giulia", "giulia_r", "https://x.com/giulia_r"),
        text="la fibra non va",
        permalink="",
        visibility=Visibility.PUBLIC,
        status=Status.OPEN,
        history="3rd contact in 30 days",
        crm=CrmFacts("<!channel>", "<@U1>", ("*VIP*",)),
    )
    _, blocks = conversation_card(card)
    texts = [b["elements"][0]["text"] for b in blocks if b["type"] == "context"]
    at = texts.index("3rd contact in 30 days")
    line = texts[at + 1]
    assert line.startswith(":card_index: CRM: &lt;!channel&gt; (&lt;@U1&gt;)")
    assert "<!channel>" not in line and "*VIP*" not in line
    _, without = conversation_card(Card(**{**card.__dict__, "crm": None}))
    assert not any("CRM:" in str(b) for b in without)
