"""Offline language guess for inbound messages: Italian or English, nothing else.

Carebridge's customers write in Italian or English, so this is a two-way vote, not a general
language identifier: frequent function words and care vocabulary count most, word endings and
accented letters break ties. URLs, @handles and emoji carry no language and are ignored. When
there is no evidence at all ("ok", "👍", a bare link) or the vote is tied, the answer is "en":
English is the brand's fallback language, and the agent sees the original text anyway.
"""

from __future__ import annotations

import re
import unicodedata

ITALIAN = "it"
ENGLISH = "en"
DEFAULT = ENGLISH

# Words that are frequent in one language and rare in the other. Ambiguous ones are left out on
# purpose: "a", "i", "in", "no", "me", "come", "so", "per", "ok".


def _wordset(words: str) -> frozenset[str]:
    return frozenset(words.split())


_IT_WORDS = _wordset(
    """
    il lo la gli le un una uno di del della dello dei degli delle dal dalla da nel nella nei
    con su sul sulla al allo alla ai agli alle col che non e ed ma se mi ti ci vi si sono sei
    siete ho hai ha abbiamo avete hanno questo questa quello quella quel dove quando perche
    grazie ciao buongiorno buonasera salve ancora gia anche piu molto tutto tutti niente
    nessuno nessuna pacco ordine consegna rimborso bolletta fattura volo carta posso potete
    vostro vostra vostri mio mia miei sto sta stato stata io tu voi noi lui lei loro pero
    cosa chi qui poi sempre mai oggi ieri domani dopo prima solo ora giorni settimana
    mese euro corriere negozio servizio linea funziona arrivato arrivata scusate fate soldi
    vaffanculo fanculo affanculo cazzo merda schifo stronzo stronzi stronza coglione coglioni
    """
)
_EN_WORDS = _wordset(
    """
    the an and or but is are was were be been have has had do does did dont doesnt didnt
    im youre ive ill its you your my we our they their he she it this that these those
    what why how when where who which can could would should will wont not of to for on at
    from with by about just please thanks thank hi hello hey yes any some still again get
    got need want know there here been time order parcel refund delivery flight card my
    since week day days today tomorrow yesterday never ever guys lol tbh cheers
    """
)
# Weak evidence for words neither list knows: typical endings (3+ letters of stem).
_IT_ENDINGS = (
    *("zione", "zioni", "mente", "ato", "ata", "ati", "ito", "ita", "are", "ere", "ire"),
    *("temi", "tevi", "atelo"),  # imperatives with pronouns: restituitemi, fottetevi
)
_EN_ENDINGS = ("ing", "tion", "ly", "ed", "ness", "ful")
_ENDING_WEIGHT = 0.3
_ACCENT_WEIGHT = 0.5  # "è", "più", "perché": Italian writes final accents, English does not

_NOISE = re.compile(r"(?:https?://|www\.)\S+|[@#]\w+", re.IGNORECASE)
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)*")


def guess_language(text: str) -> str:
    """Return "it" or "en" for a message; "en" (the default) when evidence is missing or tied."""
    text = _NOISE.sub(" ", text).replace("\u2019", "'").lower()  # typographic apostrophe
    accents = sum(1 for char in text if char in "àèéìòù")
    plain = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    italian, english = _ACCENT_WEIGHT * accents, 0.0
    for word in _WORD.findall(plain):
        if "'" in word:
            head, _, tail = word.partition("'")
            if tail in {"s", "t", "m", "re", "ll", "ve", "d"}:  # don't, I'm, you're: English
                english += 1
                word = head + tail
            else:  # l'ordine, dell'operatore, c'è: an Italian elision
                italian += 1
                word = tail
        if word in _IT_WORDS:
            italian += 1
        elif word in _EN_WORDS:
            english += 1
        elif len(word) >= 6 and word.endswith(_IT_ENDINGS):
            italian += _ENDING_WEIGHT
        elif len(word) >= 5 and word.endswith(_EN_ENDINGS):
            english += _ENDING_WEIGHT
    return ITALIAN if italian > english else DEFAULT
