"""The scripted morning of `carebridge demo`: customers write, agents claim and answer.

Each step is a moment of the morning, a sentence for the audience, and what happens. Later
features add their moments here, so the demo stays the product's living showcase.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.networks.facebook.emulator import GraphEmulator
from bot.networks.instagram.emulator import InstagramEmulator
from bot.networks.whatsapp.emulator import WhatsAppEmulator
from bot.sandbox.world import World
from bot.slack import blocks

ANNA, BRUNO, CARLA = "UANNA", "UBRUNO", "UCARLA"
AGENTS = {ANNA: "Anna", BRUNO: "Bruno", CARLA: "Carla"}
LEADS = "S0SUPPORTLEADS"  # a Slack user group: the managers watching escalations
ELENA, PAOLO = "8000000000000001", "8000000000000002"  # Facebook ids (Page-scoped)
FACEBOOK_PEOPLE = {ELENA: "Elena Conti", PAOLO: "Paolo Greco"}
DAVIDE = "393331234567"  # a WhatsApp id: his phone number, shown masked
RECEIPT_PHOTO = b"\xff\xd8\xff\xe0" + b"ricevuta reso 7730 " * 400  # a stand-in JPEG
# Tight targets, so the morning shows warnings and an escalation; open every day, so the demo
# works on any day of the week.
SETTINGS = {
    "SLA_CLOCK": "business",
    "SLA_FIRST_RESPONSE": "20m",
    "SLA_NEXT_RESPONSE": "20m",
    "SLA_WARN_BEFORE": "5m",
    "SLA_ESCALATE_TO": LEADS,
    "BUSINESS_HOURS": "mon-sun 09:00-18:00",
    "NETIQUETTE_URL": "https://acme.example/community-rules",
    "SLACK_LEADS": LEADS,
}


@dataclass(frozen=True)
class Private:
    """What only one person sees (a slash command's answer), for the demo to show."""

    user: str
    text: str  # Slack mrkdwn


@dataclass(frozen=True)
class Step:
    """A moment of the morning. What the audience is told is written in both languages side
    by side (`carebridge demo --lang it`): it is the demo's story, not the product's interface,
    so it stays here rather than in the gettext catalogues, and a new step cannot forget one."""

    at: str  # "HH:MM" of the demo morning
    says: str
    says_it: str
    act: Callable[[World], object]  # what it returns is shown when it is a Private answer

    def said(self, language: str) -> str:
        return self.says_it if language == "it" else self.says


def _answer(agent: str, handle: str, text: str) -> Callable[[World], object]:
    return lambda world: world.reply_in_thread(agent, text, world.card_of(handle)["ts"])


def _answer_named(agent: str, name: str, text: str) -> Callable[[World], object]:
    """An answer in the thread of a Facebook customer, who has a name but no @handle."""
    return lambda world: world.reply_in_thread(agent, text, world.card_named(name)["ts"])


def _page(world: World) -> GraphEmulator:
    assert world.meta is not None, "the demo's world has a Facebook Page"
    return world.meta


def _instagram(world: World) -> InstagramEmulator:
    assert world.instagram is not None, "the demo's world has an Instagram account"
    return world.instagram


def _receipt_photo(world: World) -> None:
    _whatsapp(world).send_image(
        DAVIDE, "Davide Russo", RECEIPT_PHOTO, caption="la ricevuta del reso"
    )


def _whatsapp(world: World) -> WhatsAppEmulator:
    assert world.whatsapp is not None, "the demo's world has a WhatsApp number"
    return world.whatsapp


def _press(agent: str, action_id: str, handle: str) -> Callable[[World], object]:
    return lambda world: world.press(agent, action_id, world.card_of(handle))


def _late_claim(world: World) -> None:
    """Bruno's Slack still showed the Claim button when he clicked it (a second too late)."""
    card = world.card_of("giulia_r")
    world.click(BRUNO, blocks.CLAIM, _conversation_value(card), card["ts"])


def _conversation_value(card: dict[str, Any]) -> str:
    for block in card["blocks"]:
        for element in block.get("elements", []) if block["type"] == "actions" else []:
            return str(element["value"])
    raise LookupError("the card has no buttons")


def _slash(agent: str, text: str) -> Callable[[World], Private]:
    def run(world: World) -> Private:
        response = world.events.slash_command(agent, "/care", text, "CSUPPORT")
        return Private(agent, response.text)

    return run


def _nothing(world: World) -> None:
    """Nobody does anything: the bot keeps time on its own."""


def _cast(world: World) -> None:
    world.slack.add_usergroup(LEADS, [CARLA])
    world.customer("giulia_r", "Giulia Rossi", followers=48_200, verified=True)
    world.customer("tom_h", "Tom Harris", followers=312)
    world.customer("marco_b", "Marco Bianchi", followers=87)
    world.customer("sofia_l", "Sofia Longo", followers=140)
    world.customer("troll_99", "Anon", followers=3)
    world.customer("luca_press", "Luca Ferri", followers=31_000, verified=True)
    assert world.instagram is not None, "the demo's world has an Instagram account"
    world.instagram.customer("chiara.moda", name="Chiara Esposito", followers=12_400)
    page = _page(world)
    for psid, name in FACEBOOK_PEOPLE.items():
        first, last = name.split()
        page.add_user(psid, first, last)


def _elena_thanks_and_the_page_answers_on_facebook(world: World) -> None:
    """Elena writes again under her comment; the social media manager, scrolling the Page on
    her phone, answers right there on Facebook, not in Slack."""
    page = _page(world)
    thanks = page.comment(ELENA, "Grazie, ora è tutto chiaro!")
    world.deliver()
    page.page_replies_directly(thanks, "Figurati Elena, buona giornata! 🌞")


MORNING: tuple[Step, ...] = (
    Step(
        "08:45",
        "We open at 9:00. Carebridge polls X every minute, day and night; Facebook comments "
        "and Messenger arrive by Meta's webhook the moment they are written.",
        "Apriamo alle 9:00. Carebridge legge X ogni minuto, giorno e notte; commenti Facebook "
        "e Messenger arrivano dal webhook di Meta appena vengono scritti.",
        _cast,
    ),
    Step(
        "08:50",
        "Sofia DMs before opening time: the bot answers with the hours, in Italian.",
        "Sofia scrive in DM prima dell'apertura: il bot risponde con gli orari, in italiano.",
        lambda w: w.direct_message(
            "sofia_l", "Buongiorno, a che ora aprite? Devo cambiare l'indirizzo di consegna"
        ),
    ),
    Step(
        "08:58",
        "Anna sets today's on-call rotation: Bruno today, Carla tomorrow.",
        "Anna imposta la reperibilità: oggi Bruno, domani Carla.",
        _slash(ANNA, "oncall set <@UBRUNO|bruno> <@UCARLA|carla> daily 08:00"),
    ),
    Step(
        "08:59",
        "Anna adds a journalist to the VIP list.",
        "Anna aggiunge un giornalista alla lista VIP.",
        _slash(ANNA, "vip add @luca_press journalist, Corriere"),
    ),
    Step(
        "09:01",
        "Anna answers Sofia first thing: it goes out as a DM.",
        "Anna risponde subito a Sofia: parte come DM.",
        _answer(ANNA, "sofia_l", "Buongiorno Sofia! Mandami pure il nuovo indirizzo qui."),
    ),
    Step(
        "09:02",
        "Giulia Rossi (48k followers, verified) tweets: her parcel is stuck.",
        "Giulia Rossi (48k follower, verificata) twitta: il suo pacco è fermo.",
        lambda w: w.mention(
            "giulia_r", "il mio pacco è fermo a Bologna da 5 giorni, ordine 4411. Qualcuno c'è?"
        ),
    ),
    Step(
        "09:03",
        "On Facebook, Elena comments under the Page's latest post: her bill doubled.",
        "Su Facebook Elena commenta l'ultimo post della Pagina: la bolletta è raddoppiata.",
        lambda w: _page(w).comment(
            ELENA, "La bolletta di novembre è il doppio del solito, come mai? Nessuno risponde"
        ),
    ),
    Step(
        "09:05",
        "Tom writes in English: his order arrived damaged.",
        "Tom scrive in inglese: il suo ordine è arrivato danneggiato.",
        lambda w: w.mention("tom_h", "my order arrived today with the box crushed. What now?"),
    ),
    Step(
        "09:07",
        "Marco sends a private DM: he was charged twice.",
        "Marco manda un DM privato: gli è stato addebitato due volte.",
        lambda w: w.direct_message(
            "marco_b", "Ciao, mi avete addebitato due volte l'ordine 5520. Potete verificare?"
        ),
    ),
    Step(
        "09:09",
        "Anna claims Giulia's conversation.",
        "Anna prende in carico la conversazione di Giulia.",
        _press(ANNA, blocks.CLAIM, "giulia_r"),
    ),
    Step(
        "09:10",
        "Bruno clicks Claim a second too late: only he is told that Anna owns it.",
        "Bruno clicca Prendi in carico un secondo troppo tardi: solo lui vede che è di Anna.",
        _late_claim,
    ),
    Step(
        "09:11",
        "Anna answers Giulia from the thread; it goes out as a reply on X.",
        "Anna risponde a Giulia dal thread; parte come risposta su X.",
        _answer(
            ANNA,
            "giulia_r",
            "Ciao Giulia, ci scusiamo per l'attesa! Il pacco riparte oggi da Bologna: "
            "ti scriviamo appena è in consegna.",
        ),
    ),
    Step(
        "09:12",
        "Bruno leaves a note for the team: `note:` keeps it in Slack.",
        "Bruno lascia una nota per il team: con `note:` resta in Slack.",
        _answer(BRUNO, "giulia_r", "note: il corriere conferma ritardi nel deposito di Bologna"),
    ),
    Step(
        "09:13",
        "Anna answers Elena the same way: on Facebook it is a reply under her comment.",
        "Anna risponde allo stesso modo a Elena: su Facebook è una risposta al suo commento.",
        _answer_named(
            ANNA,
            "Elena Conti",
            "Ciao Elena, la bolletta include il conguaglio annuale: te lo spieghiamo nel "
            "dettaglio in privato.",
        ),
    ),
    Step(
        "09:15",
        "Carla takes Tom's conversation by answering in its thread.",
        "Carla prende la conversazione di Tom rispondendo nel thread.",
        _answer(CARLA, "tom_h", "So sorry, Tom! We'll make this right."),
    ),
    Step(
        "09:16",
        "Carla needs his order details: Move to DM invites him publicly to write privately.",
        "A Carla servono i dati dell'ordine: Sposta in DM lo invita pubblicamente a scrivere "
        "in privato.",
        _press(CARLA, blocks.MOVE_TO_DM, "tom_h"),
    ),
    Step(
        "09:18",
        "Paolo writes to the Page on Messenger; the card shows until when Messenger lets the "
        "Page answer (24 hours after his last message).",
        "Paolo scrive alla Pagina su Messenger; la scheda mostra fino a quando Messenger "
        "lascia rispondere la Pagina (24 ore dal suo ultimo messaggio).",
        lambda w: _page(w).message(
            PAOLO, "Ciao! Posso pagare l'abbonamento con PayPal invece che con la carta?"
        ),
    ),
    Step(
        "09:19",
        "Bruno answers him: it goes out on Messenger.",
        "Bruno gli risponde: parte su Messenger.",
        _answer_named(
            BRUNO, "Paolo Greco", "Ciao Paolo, certo: Profilo > Pagamenti > Aggiungi PayPal."
        ),
    ),
    Step(
        "09:21",
        "Tom continues by DM: same thread, now a private conversation.",
        "Tom continua in DM: stesso thread, ora una conversazione privata.",
        lambda w: w.direct_message("tom_h", "Order 7781. The lamp inside is broken too."),
    ),
    Step(
        "09:22",
        "Nobody has answered Marco for 15 minutes: the bot warns the on-call agent.",
        "Nessuno risponde a Marco da 15 minuti: il bot avvisa chi è di turno.",
        _nothing,
    ),
    Step(
        "09:23",
        "Carla answers; this time it is sent as a DM.",
        "Carla risponde; questa volta parte come DM.",
        _answer(CARLA, "tom_h", "Thanks Tom: a new lamp ships today, no need to return the old."),
    ),
    Step(
        "09:24",
        "Carla resolves Tom's conversation.",
        "Carla risolve la conversazione di Tom.",
        _press(CARLA, blocks.RESOLVE, "tom_h"),
    ),
    Step(
        "09:25",
        "On Instagram, Chiara (12k followers) sends a Direct message: her discount code fails.",
        "Su Instagram Chiara (12k follower) manda un messaggio Direct: il codice sconto non va.",
        lambda w: _instagram(w).message("chiara.moda", "Ciao! Il codice sconto BENVENUTO10 non va"),
    ),
    Step(
        "09:26",
        "On WhatsApp, Davide asks about his return. The card shows his name and a masked number.",
        "Su WhatsApp Davide chiede del suo reso. La scheda mostra il nome e il numero mascherato.",
        lambda w: _whatsapp(w).message(DAVIDE, "Davide Russo", "Salve, il reso 7730 è arrivato?"),
    ),
    Step(
        "09:26",
        "Davide adds a photo of the return receipt: WhatsApp's media need the bot's token, so "
        "it is copied into the thread.",
        "Davide aggiunge la foto della ricevuta del reso: i media di WhatsApp richiedono il "
        "token del bot, quindi viene copiata nel thread.",
        _receipt_photo,
    ),
    Step(
        "09:27",
        "Bruno answers Chiara: it goes back as an Instagram Direct message.",
        "Bruno risponde a Chiara: torna come messaggio Direct su Instagram.",
        _answer(BRUNO, "chiara.moda", "Ciao Chiara! Prova ora, l'abbiamo riattivato per te."),
    ),
    Step(
        "09:27",
        "Carla answers Davide on WhatsApp; ✅ then 📬 show it was sent and delivered.",
        "Carla risponde a Davide su WhatsApp; ✅ e poi 📬 mostrano che è partito e arrivato.",
        _answer_named(CARLA, "Davide Russo", "Buongiorno Davide, sì: il rimborso parte oggi."),
    ),
    Step(
        "09:27",
        "Marco's 20-minute target is missed: the bot escalates in the channel.",
        "L'obiettivo di 20 minuti per Marco è mancato: il bot segnala l'escalation nel canale.",
        _nothing,
    ),
    Step(
        "09:30",
        "Bruno answers Marco's DM in Italian; writing in the thread makes him the owner.",
        "Bruno risponde al DM di Marco; scrivendo nel thread ne diventa il responsabile.",
        _answer(
            BRUNO,
            "marco_b",
            "Ciao Marco, hai ragione: il secondo addebito di 39,90 € ti viene rimborsato "
            "entro 3 giorni lavorativi.",
        ),
    ),
    Step(
        "09:35",
        "Ten minutes after Resolve, Tom got one question by DM: how did we do, from 1 to 5? "
        "He answers in words; the score shows on the card and in the thread.",
        "Dieci minuti dopo Risolvi, Tom ha ricevuto una domanda in DM: com'è andata, da 1 a 5? "
        "Risponde a parole; il voto compare sulla scheda e nel thread.",
        lambda w: w.direct_message("tom_h", "5 - quick and kind, thanks!"),
    ),
    Step(
        "09:35",
        "The journalist writes, angry and asking for a refund: the card is urgent, with its "
        "reasons, and the on-call agent is pinged.",
        "Il giornalista scrive, arrabbiato, chiedendo un rimborso: la scheda è urgente, con i "
        "motivi, e chi è di turno riceve una notifica.",
        lambda w: w.mention(
            "luca_press", "terza settimana senza rimborso, una vergogna. Chiedo spiegazioni 😡"
        ),
    ),
    Step(
        "09:37",
        "Bruno answers him at once.",
        "Bruno gli risponde subito.",
        _answer(BRUNO, "luca_press", "Buongiorno Luca, ci scusiamo: il rimborso parte oggi."),
    ),
    Step(
        "09:40",
        "Someone insults the team in public: the bot posts the rules, once.",
        "Qualcuno insulta il team in pubblico: il bot pubblica le regole, una volta.",
        lambda w: w.mention("troll_99", "siete degli idioti, tutti quanti"),
    ),
    Step(
        "09:45",
        "He does it again: nothing is sent, the conversation goes on netiquette hold.",
        "Lo rifà: non parte nulla, la conversazione viene sospesa per netiquette.",
        lambda w: w.mention("troll_99", "idioti e pure incapaci"),
    ),
    Step(
        "09:47",
        "Carla, a lead, lifts the hold: the response clock runs again.",
        "Carla, responsabile, toglie la sospensione: il tempo di risposta riparte.",
        _press(CARLA, blocks.LIFT_HOLD, "troll_99"),
    ),
    Step(
        "09:48",
        "There is nothing to answer: Anna resolves it.",
        "Non c'è niente da rispondere: Anna la risolve.",
        _press(ANNA, blocks.RESOLVE, "troll_99"),
    ),
    Step(
        "10:30",
        "Elena thanks, and a colleague answers her on Facebook itself: the thread shows it, "
        "and it counts as an answer.",
        "Elena ringrazia e un collega le risponde direttamente su Facebook: il thread lo "
        "mostra, e conta come risposta.",
        _elena_thanks_and_the_page_answers_on_facebook,
    ),
    Step(
        "10:42",
        "Giulia writes again: her message joins the same thread, not a new card.",
        "Giulia riscrive: il suo messaggio entra nello stesso thread, non in una nuova scheda.",
        lambda w: w.mention("giulia_r", "ricevuto, grazie mille! 🙏"),
    ),
)
