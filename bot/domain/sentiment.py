"""Sentiment of an inbound customer message: negative, neutral or positive, Italian and English.

Carebridge ranks conversations by it: an angry customer matters more than a thank-you. The
labelling policy (the full guide is in tests/data/README.md):

- NEGATIVE: the customer expresses dissatisfaction: anger, frustration, disappointment, blame,
  a complaint (polite or not), sarcasm about the service, a threat to leave. An open complaint
  outweighs politeness ("thanks for the reply, but that doesn't solve anything").
- NEUTRAL: questions, requests and information, including support questions about a problem
  that express no dissatisfaction ("non riesco ad accedere, come faccio?").
- POSITIVE: thanks for help or a solution (also after a problem), praise.

Method: transparent lexicon and rules, no model, chosen by measurement on the labelled set
(tests/data/sentiment.jsonl): it clearly beat a Naive Bayes and a logistic regression trained
on the train split, and was level with a lexicon + Naive Bayes blend, which would need a model
file (bench/sentiment_eval.py prints the figures; tests/data/README.md says how far to trust
them). The text is normalised (case, accents, chat shorthand "nn", "ke", "ur"; URLs and
@handles dropped, emoji kept as words), then each word or phrase adds a valence from -3 to +3.
Rules adjust it: negation flips the next words ("not good", "mai avuto problemi"), intensifiers
and CAPITALS amplify, "but"/"ma" makes the clause after it count more, waiting times and
repetition ("da 9 giorni", "again", "ennesima") are complaints, praise followed by a problem
is sarcasm ("grazie per avermi lasciato senza internet 👏"), and a support question or request
without strong words is damped towards neutral. The sum maps to a score in [-1, 1].
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

from bot.domain.language import guess_language


class Sentiment(StrEnum):
    NEGATIVE = "negative"
    NEUTRAL = "neutral"
    POSITIVE = "positive"


@dataclass(frozen=True)
class SentimentScore:
    label: Sentiment
    score: float  # in [-1, 1]: below 0 is negative; the lower, the angrier (used for ranking)


def _words(spec: str) -> frozenset[str]:
    return frozenset(spec.split())


def _lexicon(spec: str) -> dict[str, float]:
    """Parse "word:value" entries; a word ending in "*" is a stem matching any ending
    ("vergogn*" is vergogna, vergognoso, vergognatevi); a phrase joins its words with "_"."""
    table: dict[str, float] = {}
    for entry in spec.split():
        word, _, value = entry.rpartition(":")
        table[word] = float(value)
    return table


# --- Lexicons ------------------------------------------------------------------------------------
# Valence from -3 (furious) to +3 (delighted). Care-specific words count: "late", "lost",
# "cold" are complaints in this domain, "sorted", "arrived" are good news.
WORDS = {
    "en": _lexicon(
        """
        disgust*:-3 pathetic:-3 worst:-3 awful:-3 terribl*:-3 horribl*:-3 appalling:-3
        disgrace*:-3 shameful:-3 joke:-2.5 useless:-2.5 thieves:-3 scam*:-3 fraud*:-3
        furious:-3 livid:-3 unacceptable:-2.5 incompeten*:-2.5 ridiculous:-2.5 shit:-2.5
        crap:-2.5 rubbish:-2 wtf:-2 fuck:-2 fucking:-1 hate:-2.5 nightmare:-2.5 disaster:-2.5
        mess:-2 shambles:-2.5 embarrass*:-2 frustrat*:-2 annoy*:-2 angry:-2 disappoint*:-2
        unbelievable:-2 misleading:-2 ignored:-2 ignoring:-2 excuses:-1.5 shame:-2 broke:-1.5
        broken:-1.5 crashed:-1.5 crashes:-1.5 crushed:-1.5 cracked:-1.5 soaked:-1.5 cold:-1
        missing:-1.5 lost:-1.5 late:-1.5 delayed:-1.5 cancelled:-1 stranded:-2 stranding:-2
        overcharged:-2 wrong:-1.5 declined:-1 mistake:-1 problem:-1 problems:-1 issue:-0.5
        complaint:-1 complaints:-1 nobody:-1.5 nothing:-1 outage:-1 failed:-1 fail:-1.5
        zero:-1.5 circles:-1 shrugged:-1.5 starve:-1.5 canned:-1.5 automated:-1 buffering:-1.5
        rude:-1.5 waste:-1.5 wasted:-1.5 short:-1 shouldnt:-0.5 sick:-1 annoyed:-2
        again:-1.5 still:-1 another:-0.5 yet:-0.5 ever:-0.3
        thanks:1.5 thank:1.5 thx:1.5 ty:1 cheers:1 appreciat*:1.5 great:2 excellen*:2.5
        amazing:2.5 brilliant*:2 fantastic:2 wonderful:2 lovely:2 love:2 perfect:2
        perfectly:1.5 flawless:2.5 best:2 impress*:2 happy:2 kind:1.5 friendly:1.5
        helpful:1.5 patient:1 quick:1 quickly:1 fast:1 faster:1 quicker:1 easy:1 painless:1.5
        smooth:1.5 solid:1 comfy:1.5 gorgeous:2 star:1.5 legend*:2 recommend*:2 sorted:1.5
        resolved:1.5 fixed:1.5 works:0.5 working:0.5 arrived:0.5 nice:1.5 good:1.5
        saved:1.5 warm:0.5 early:1 decent:1 value:0.5 glad:1.5 pleasure:2 trust:1 staying:1
        acceptable:1.5 without:-0.8 twice:-1 keeps:-0.5 solve:1 solved:1.5
        work:0.5 wonderfully:2 superb:2.5 awesome:2.5 legendary:2 top:1 well:0.5
        """
    ),
    "it": _lexicon(
        """
        vergogn*:-3 schif*:-3 merda:-2.5 pessim*:-3 peggior*:-2.5 disastro:-2.5 ridicol*:-2.5
        assurd*:-2 inaccettabile:-2.5 delus*:-2 deludente:-2 amareggiat*:-2 furios*:-3
        arrabbiat*:-2 incompetent*:-2.5 ladri:-3 truff*:-3 fregatura:-2.5 inutil*:-2
        inesistente:-2 rovinat*:-2 scorrett*:-2 ignorat*:-2 ignorando:-2 basta:-1.5
        scherzando:-1.5 ritardo:-1.5 perso:-1.5 persa:-1.5 perdere:-1 bloccat*:-1
        rotto:-1.5 distrutto:-2 frantumi:-1.5 fredd*:-1 mancavano:-1.5 manca:-1.5
        sbagliato:-1.5 errore:-1 problema:-1 problemi:-1 guasto:-1 cancellato:-1
        annullato:-1 rifiutata:-1 ennesim*:-2 ancora:-1 nessuno:-1.5 nessuna:-1 nessun:-1
        niente:-1 nulla:-1 zero:-1.5 nemmeno:-1 neanche:-1 senza:-0.8 rubato:-2.5
        denuncio:-2 figura:-1 cazzo:-2 aumentat*:-1 automatici:-1 automatiche:-1
        ridatemi:-2 rivoglio:-1.5 dimentica:-1 risolve:1 blocc*:-1 presa:-0.5 peccato:-1
        sopporto:1 fido:1 attesa:-0.5
        impressione:-0.5 difficile:-1 disdetta:-0.5 addebitat*:-0.5
        grazie:1.5 complimenti:2 brav*:2 gentilissim*:2 gentili:1.5 ottim*:2 perfett*:2
        fantastic*:2 eccellent*:2.5 impeccabile:2.5 meraviglia:2.5 bellissim*:2 bello:1.5
        bella:1.5 top:1.5 super:1.5 migliori:2 migliore:2 soddisfatt*:2 risolto:1.5 risolta:1.5
        funziona:0.5 arrivato:0.5 arrivata:0.5 velocissim*:1.5 veloce:1 velocita:1 rapid*:1
        puntual*:1.5 cortese:1.5 simpatic*:1.5 preparat*:1 piacere:1.5 consiglio:1.5
        consigliero:1.5 comoda:1 comodo:1 salvato:1.5 apprezzo:1.5 fiducia:1 seria:1 facile:1
        accettabile:1.5 adoro:2 evviva:1.5 wow:0.5 finalmente:1 tornata:1 tornato:1
        """
    ),
}
# Phrases, matched on the normalised words joined by "_"; they replace their words' values.
PHRASES = {
    "en": _lexicon(
        """
        still_waiting:-2 thanks_for_nothing:-3 said_no_one_ever:-3 sick_and_tired:-3
        fed_up:-2.5 shame_on_you:-3 piece_of_shit:-3 dropped_the_ball:-2.5 never_again:-2.5
        is_anyone_there:-2 no_updates:-1.5 no_update:-1.5 no_reply:-1.5 no_replies:-1.5
        no_response:-1.5 no_answer:-1.5 no_eta:-1.5 without_any_warning:-1.5
        without_any_notice:-1.5 without_explanation:-1.5 for_no_reason:-1.5 on_hold:-1.5
        not_good_enough:-2.5 expected_better:-2 im_done:-2 lost_all_trust:-3
        switching_to_another:-2 never_ordering:-2.5 cancelling_everything:-2 do_you_even:-2
        round_in_circles:-1.5 no_signal:-1.5 out_for_delivery:0 well_done:2 keep_it_up:2
        hands_down:1.5 top_notch:2.5 rock_solid:2 all_good:1.5 made_it_right:2.5
        exactly_what_i_needed:2 much_appreciated:2 no_complaints:2 all_sorted:2 all_fixed:2
        should_be_done:2 so_kind:2 day_early:1.5 on_time:1.5 would_recommend:2
        nice_to_know:-1.5 oh_wonderful:-2 oh_great:-2 oh_good:-2 oh_brilliant:-2
        fingers_crossed:0 just_so_you_know:0 not_even:-1 every_single:-1 never_showed:-2
        never_came:-2 it_never:-1 never_deliver:-2 never_had_a_problem:2 never_had_an_issue:2
        doesnt_work:-1.5 dont_work:-1.5
        not_working:-1.5 doesnt_actually_work:-2 isnt_working:-1.5
        """
    ),
    "it": _lexicon(
        """
        ancora_niente:-2.5 ancora_nulla:-2.5 grazie_di_niente:-3 grazie_per_niente:-3
        non_ne_posso_piu:-2.5 mai_piu:-2.5 no_comment:-2 presa_in_giro:-2.5
        senza_vergogna:-3 non_ho_parole:-2 di_nuovo:-1.5 che_figura:-2 porca_miseria:-2
        cambio_operatore:-2 chiudo_il_conto:-2 a_che_serve:-2 mi_state_ignorando:-2.5
        fa_schifo:-3 fate_schifo:-3 non_e_accettabile:-2 nessuna_risposta:-2
        zero_risposte:-2 nessuno_risponde:-2 mai_visto:-1 non_vi_interessi:-2
        grazie_mille:2 grazie_di_cuore:2.5 continuate_cosi:2 niente_da_dire:2 di_parola:1.5
        vi_consiglio:2 e_lode:2.5 tutto_ok:1.5 tutto_chiarito:1.5 problema_risolto:2
        in_anticipo:1.5 prima_del_previsto:1.5 che_bella_sorpresa:2 non_vi_sopporto:-2.5
        non_mi_fido:-2.5 in_attesa:-1 al_telefono:-0.5 mi_trattate_cosi:-2.5 non_funziona:-1.5
        due_volte:-1 in_faccia:-1.5 mai_avuto_problemi:2 mai_avuto_un_problema:2
        """
    ),
}
EMOJI = {
    "😡": -3.0,
    "🤬": -3.0,
    "😤": -2.5,
    "😠": -2.5,
    "👎": -2.0,
    "💩": -2.0,
    "🙄": -1.5,
    "😒": -1.5,
    "😞": -1.5,
    "😢": -1.5,
    "😭": -1.5,
    "❌": -1.0,
    "🤡": -2.0,
    "🙃": -1.5,  # the upside-down smile is ironic in care traffic
    "❤": 2.5,
    "😍": 2.5,
    "🥰": 2.5,
    "💯": 1.5,
    "🙏": 1.5,  # "please" or "thank you": both polite, so mildly positive
    "😊": 2.0,
    "😀": 1.5,
    "😃": 1.5,
    "👍": 2.0,
    "👌": 2.0,
    "🔝": 2.0,
    "🔥": 1.5,
    "💪": 1.5,
    "🎉": 1.5,
    "👏": 1.5,
    "🙂": 1.0,
    "😉": 1.0,
}
# Praise emoji and words that turn ironic after (or before) a complaint: "👏", "grazie", "great".
IRONIC_EMOJI = frozenset("👏🙂🎉😉")
NEGATIONS = _words(
    "not no never dont didnt doesnt isnt wasnt arent werent cant cannot couldnt wont havent"
    " hasnt non nn mai nessun niente"
)
INTENSIFIERS = _words(
    "very so really absolutely completely totally extremely super truly such"
    " molto davvero troppo tantissimo proprio veramente cosi"
)
INTENSITY = 1.5  # an intensified word counts this much more: "molto deluso", "so kind"
CONTRAST = _words("but however though ma pero peccato shame")
# Polite request openers: like a "?", they make a message a request (damped towards neutral).
REQUEST = _words("please pls could can potete potreste vorrei")
# Chat shorthand, mostly Italian ("nn" non, "ke" che, "x" per) and English ("u", "ur").
SHORTHAND = {
    "nn": "non",
    "ke": "che",
    "x": "per",
    "qnd": "quando",
    "sn": "sono",
    "risp": "risposte",
    "u": "you",
    "ur": "your",
    "pls": "please",
    "plz": "please",
    "recieved": "received",
}
ACRONYMS = _words("dm dms id pin otp eta faq iban agcom ui tv sim puk atm sms ok uk it eu")
# Waiting times: "da 9 giorni", "for 4 days", "3 weeks", "sono passate 120 (ore)".
_NUMBER = r"(?:\d+|two|three|four|five|six|due|tre|quattro|cinque|sei)"
_UNIT = r"(?:days?|weeks?|months?|hours?|giorni|settimane|mesi|ore)"
WAITING = re.compile(rf"\b(?:da|for|since|after|dopo) {_NUMBER} {_UNIT}\b|\b{_NUMBER} {_UNIT}\b")
WAITING_VALUE = -1.0
REPEATED = re.compile(
    r"\b(?:\d+(?:st|nd|rd|th)|third|fourth|fifth|terza|quarta|quinta|decima|\d+a?)"
    r" (?:time|volta|email)"
)
REPEATED_VALUE = -1.5

NEGATION_SCOPE = 3  # words after a negation that it flips, up to a clause boundary
STRONG = 2.5  # negative words this strong are not flipped: "mai visto un servizio così pessimo"
QUESTION_DAMPING = 0.4  # negatives in a support question or request count this much
CONTRAST_BEFORE, CONTRAST_AFTER = 0.5, 1.5
SARCASM_BELOW = -1.0  # the complaint that turns earlier praise ironic
SCALE = 3.0  # score = tanh(total / SCALE)
NEGATIVE_BELOW, POSITIVE_ABOVE = -0.2, 0.2

_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_HANDLE = re.compile(r"@\w+")
_TOKEN = re.compile(r"[^\W_]+(?:'[^\W_]+)?|[!?]+|\.{2,}|…|[.,;:]")
_ENGLISH_CLITICS = frozenset({"s", "t", "m", "re", "ll", "ve", "d"})
BOUNDARIES = frozenset({".", ",", ";", ":", "…"})


@dataclass(frozen=True)
class Token:
    """A normalised word ("non", "grazie"), an emoji ("😡"), or a mark: "!", "!!", "?", "??",
    "…", or a boundary "." ","; `caps` is a shouted word ("BASTA", "NOW")."""

    text: str
    caps: bool = False


def _is_emoji(char: str) -> bool:
    return unicodedata.category(char) == "So"


def tokens(text: str) -> list[Token]:
    """The message as tokens: URLs and @handles dropped (they carry no sentiment), accents
    stripped, apostrophes resolved ("don't" is "dont", "l'app" is "app"), emoji kept one each."""
    text = _URL.sub(" ", text.replace("\u2019", "'"))
    text = _HANDLE.sub(" ", text).replace("#", " ")
    text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    found: list[Token] = []
    for piece in re.split(r"(\s+)", text):
        emoji = [c for c in piece if _is_emoji(c)]
        plain = "".join(" " if _is_emoji(c) else c for c in piece)
        for match in _TOKEN.finditer(plain):
            found.append(_token(match.group(0)))
        found.extend(Token(e) for e in emoji)
    return found


def _token(raw: str) -> Token:
    if raw[0] in "!?":
        mark = raw[0]
        return Token(mark * 2 if len(raw) > 1 and "?" in raw else mark * min(len(raw), 2))
    if raw in ("…",) or raw.startswith(".."):
        return Token("…")
    if raw in BOUNDARIES:
        return Token(raw)
    head, _, tail = raw.partition("'")
    if tail:
        raw = head + tail if tail.lower() in _ENGLISH_CLITICS else tail  # dont / l'app: app
    word = raw.lower()
    caps = len(raw) >= 3 and raw.isupper() and raw.isalpha() and word not in ACRONYMS
    return Token(SHORTHAND.get(word, word), caps)


@lru_cache(maxsize=8192)
def _word_value(word: str, language: str) -> float | None:
    """The valence of one word in a language's lexicon (exact, then the longest stem)."""
    table = WORDS[language]
    if word in table:
        return table[word]
    for size in range(len(word) - 1, 2, -1):
        stem = word[:size] + "*"
        if stem in table:
            return table[stem]
    return None


def _languages(text: str, language: str | None) -> tuple[str, str]:
    """The lexicon to read first, then the other (customers mix: "top", "fuck", "grazie")."""
    if language not in (None, "en", "it"):
        raise ValueError(f"unsupported language {language!r}: use 'it', 'en' or None")
    first = language or guess_language(text)
    return (first, "it" if first == "en" else "en")


@dataclass
class _Hit:
    """The contribution of one word or phrase, before the message-level rules."""

    index: int  # position of its first token
    value: float
    praise: bool = False  # a positive word or emoji that can turn ironic


def _hits(words: list[Token], languages: tuple[str, str]) -> list[_Hit]:
    """Valence per word or phrase, with negation and intensifiers applied."""
    hits: list[_Hit] = []
    negated_until = -1
    boost = 1.0
    i = 0
    while i < len(words):
        token = words[i]
        if token.text in BOUNDARIES or token.text in ("!", "!!", "?", "??"):
            negated_until, boost = -1, 1.0
            i += 1
            continue
        phrase_value, size = _phrase(words, i, languages)
        if phrase_value is not None:
            hits.append(_Hit(i, phrase_value * boost, praise=phrase_value > 0))
            boost = 1.0
            i += size
            continue
        word = token.text
        if word in EMOJI:
            hits.append(_Hit(i, EMOJI[word], praise=word in IRONIC_EMOJI or EMOJI[word] > 0))
            i += 1
            continue
        value = next((v for lang in languages if (v := _word_value(word, lang)) is not None), None)
        if word in NEGATIONS:
            negated_until = i + NEGATION_SCOPE
            if value is not None:  # "niente", "nessun" also mean "nothing happened"
                hits.append(_Hit(i, value))
            i += 1
            continue
        if word in INTENSIFIERS:
            boost = INTENSITY
            i += 1
            continue
        if value is not None:
            if token.caps:
                value = value * 1.5 if value < 0 else value
            if i <= negated_until and value > -STRONG:
                value = -value if value > 0 else -0.5 * value  # "not good"; "not bad" is mild
            hits.append(_Hit(i, value * boost, praise=value > 0))
        elif token.caps:
            hits.append(_Hit(i, -0.5))  # shouting a plain word ("NOW", "THREE") is anger
        boost = 1.0
        i += 1
    return hits


def _phrase(words: list[Token], start: int, languages: tuple[str, str]) -> tuple[float | None, int]:
    """The longest known phrase starting at `start`: (value, number of tokens) or (None, 0)."""
    for size in (5, 4, 3, 2):
        key = "_".join(t.text for t in words[start : start + size])
        for lang in languages:
            if key in PHRASES[lang]:
                return PHRASES[lang][key], size
    return None, 0


def _total(text: str, language: str | None) -> float:
    words = tokens(text)
    if not words:
        return 0.0
    languages = _languages(text, language)
    hits = _hits(words, languages)
    plain = " ".join(t.text for t in words)
    # Waiting times and repetitions are complaints in customer care.
    extra = WAITING_VALUE * len(WAITING.findall(plain)) + REPEATED_VALUE * len(
        REPEATED.findall(plain)
    )
    # Contrast: the clause after the last "but" is what the customer means.
    pivot = max(
        (i for i, t in enumerate(words) if t.text in CONTRAST and _has_word_before(words, i)),
        default=None,
    )
    if pivot is not None:
        for hit in hits:
            hit.value *= CONTRAST_AFTER if hit.index > pivot else CONTRAST_BEFORE
    # Sarcasm: praise followed by a complaint, with no "but" in between, is ironic ("grazie per
    # avermi lasciato senza internet 👏"); the ironic emoji also count when they come last.
    if pivot is None and sum(h.value for h in hits if h.value < 0) + extra <= SARCASM_BELOW:
        for hit in hits:
            after = sum(h.value for h in hits if h.index > hit.index and not h.praise)
            ironic_emoji = words[hit.index].text in IRONIC_EMOJI
            if hit.praise and (after + extra <= SARCASM_BELOW or ironic_emoji):
                hit.value = -0.5 * abs(hit.value)
    total = sum(h.value for h in hits) + extra
    marks = {t.text for t in words}
    if "??" in marks:
        total -= 1.5  # exasperation: "ma state scherzando???"
    if _asking(words, marks):
        if total < 0 and min((h.value for h in hits), default=0) > -2:
            total *= QUESTION_DAMPING  # "non riesco ad accedere, come faccio?" is a question
        elif total > 0:
            total *= QUESTION_DAMPING  # "can you call me back? thanks": a polite request
    if "!!" in marks:
        total *= 1.3
    return total


def _has_word_before(words: list[Token], index: int) -> bool:
    return any(t.text not in BOUNDARIES for t in words[:index])


def _asking(words: list[Token], marks: set[str]) -> bool:
    """A support question or request: a "?" or a polite request opener."""
    return "?" in marks or any(t.text in REQUEST for t in words)


def sentiment(text: str, language: str | None = None) -> SentimentScore:
    """Classify one message; `language` ("it", "en") picks the lexicon to read first, None
    guesses it. Deterministic and offline."""
    score = _score(_total(text, language))
    if score <= NEGATIVE_BELOW:
        label = Sentiment.NEGATIVE
    elif score >= POSITIVE_ABOVE:
        label = Sentiment.POSITIVE
    else:
        label = Sentiment.NEUTRAL
    return SentimentScore(label, score)


def _score(total: float) -> float:
    return round(math.tanh(total / SCALE), 4)
