"""The demo's own words, in English and Italian side by side (`carebridge demo --lang it`).

The headings, the summary and the labels of the channel view tell the audience what happens;
like the steps' sentences (bot/demo/script.py) they are the demo's story, not the product's
interface, so they live here and not in the gettext catalogues. What the bot itself writes in
Slack comes from the product, in TEAM_LANGUAGE and each agent's Slack locale.
"""

from __future__ import annotations

LANGUAGES = ("en", "it")

# key: (English, Italian); fields in braces.
WORDS: dict[str, tuple[str, str]] = {
    # the runner
    "welcome": (
        "A morning of social customer care, compressed into a minute.\n"
        "Customers write on an emulated X, a Facebook Page (comments and Messenger), an "
        "Instagram account and a WhatsApp number; three agents (Anna, Bruno, Carla) work "
        "in an emulated Slack channel #support.\nThe bot between them is the real Carebridge: "
        "its database is in {folder}.",
        "Una mattina di assistenza clienti sui social, condensata in un minuto.\n"
        "I clienti scrivono su un X emulato, una Pagina Facebook (commenti e Messenger), un "
        "account Instagram e un numero WhatsApp; tre operatori (Anna, Bruno, Carla) lavorano "
        "in un canale Slack emulato, #support.\nTra loro c'è il vero Carebridge: "
        "il suo database è in {folder}.",
    ),
    "the end": ("The channel at the end of the morning", "Il canale a fine mattinata"),
    "this morning": ("This morning", "Stamattina"),
    "customer": ("customer", "cliente"),
    "where": ("where", "dove"),
    "status": ("status", "stato"),
    "owner": ("owner", "operatore"),
    "1st answer": ("1st answer", "1ª risposta"),
    "in target": ("in target", "nei tempi"),
    "in/out/note": ("in/out/note", "ricevuti/inviati/note"),
    "open": ("open", "aperta"),
    "answered": ("answered", "attende il cliente"),
    "resolved": ("resolved", "risolta"),
    "not yet": ("not yet", "non ancora"),
    "yes": ("yes", "sì"),
    "missed": ("missed", "mancato"),
    "public": ("public", "pubblica"),
    "private": ("private", "privata"),
    "mention": ("mention", "menzione"),
    "comment": ("comment", "commento"),
    "Direct message": ("Direct message", "messaggio Direct"),
    "message": ("message", "messaggio"),
    "median": ("median first answer {median}", "prima risposta mediana {median}"),
    "on X": (
        "{replies} public replies and {dms} DMs sent on X",
        "{replies} risposte pubbliche e {dms} DM inviati su X",
    ),
    "on Facebook": (
        "{comments} and {messages} sent on Facebook",
        "{comments} e {messages} su Facebook",
    ),
    "comment replies": ("comment reply|comment replies", "risposta a commento|risposte a commenti"),
    "Messenger messages": (
        "Messenger message|Messenger messages",
        "messaggio Messenger|messaggi Messenger",
    ),
    "on Instagram": ("{direct} on Instagram", "{direct} su Instagram"),
    "Direct messages": ("Direct message|Direct messages", "messaggio Direct|messaggi Direct"),
    "on WhatsApp": ("{messages} on WhatsApp", "{messages} su WhatsApp"),
    "messages": ("message|messages", "messaggio|messaggi"),
    "Slack posts": (
        "{posts} Slack posts, paced to one per second",
        "{posts} messaggi Slack, al ritmo di uno al secondo",
    ),
    # the channel view
    "new conversation": ("new conversation", "nuova conversazione"),
    "thread of": ("↳ thread of ", "↳ thread di "),
    "only sees": ("only {who} sees: ", "solo {who} vede: "),
    # a reaction, then what it is on (Italian puts "on" into the next words: "sulla ...")
    "reaction on": ("{emoji} on {what}", "{emoji} {what}"),
    "answer of": ("{author}'s answer", "sulla risposta di {author}"),
    "message of": ("{author}'s message", "sul messaggio di {author}"),
    "card of": ("the card of {name}", "sulla scheda di {name}"),
    "in thread of": ("a message in the thread of {name}", "su un messaggio nel thread di {name}"),
    "edited in": ("edited in the thread of {name}:", "modificato nel thread di {name}:"),
    "card update": ("card of ", "scheda di "),
    "file": ("📎 {title} ({size} bytes)", "📎 {title} ({size} byte)"),
    "public reply to": ("public reply to @{handle}", "risposta pubblica a @{handle}"),
    "public post": ("public post", "post pubblico"),
    "DM to": ("DM to {to}", "DM a {to}"),
    "a group": ("a group", "un gruppo"),
    "reply under a comment": ("reply under a comment", "risposta a un commento"),
    "Direct to": ("Direct to @{handle}", "Direct a @{handle}"),
    "WhatsApp to": ("to {number}", "a {number}"),
    "template": ("template {name}", "modello {name}"),
    "reply under": ("reply under {whose}", "risposta sotto {whose}"),
    "Messenger to": ("Messenger to {name}", "Messenger a {name}"),
    "private reply to": ("private reply to {whose}", "risposta privata a {whose}"),
    "comment of": ("{name}'s comment", "il commento di {name}"),
    "a comment": ("a comment", "un commento"),
}


def say(language: str, key: str, **fields: object) -> str:
    """The words for `key` in `language` (English unless "it"), with their fields filled in."""
    english, italian = WORDS[key]
    return (italian if language == "it" else english).format(**fields)


def counted(language: str, n: int, key: str) -> str:
    """ "1 comment reply", "3 comment replies": `key`'s words are "singular|plural"."""
    one, many = say(language, key).split("|")
    return f"{n} {one if n == 1 else many}"
