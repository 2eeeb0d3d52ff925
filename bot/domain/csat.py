"""Reading a customer's answer to the satisfaction survey: "How did we do, from 1 to 5?".

Where a network has no buttons the customer answers in words, Italian or English, and the
answer shares the private conversation with whatever else they write. Reading a new question
as a score is the costly mistake (the question would be filed as feedback, and nobody would
answer it), so a message counts only when its score is the answer. The policy, measured on
tests/data/csat/replies.tsv (its README has the labelling guide; bench/csat.py the figures):

- A number from 1 to 5 at the start, after an optional lead-in ("voto 4", "direi 3", "I'd give
  you a 4", "@brand 5"): digits, a keycap "4️⃣" or a word ("quattro", "four"), alone or with
  a scale ("4/5", "4 su 5", "four out of five"), stars ("4 stelle", "4⭐"), punctuation,
  emoji, then a comment. Half points are rounded down ("4,5" is 4): the customer held back.
- What follows a bare number decides. After a separator ("5, veloci", "1 - ancora niente",
  "3. Gentili ma lenti") anything is a comment, unless a digit follows ("2-3 giorni", "4.30",
  "1) ... 2) ..."). After a space it must read as a judgement: "5 grazie", "2 troppo lenti",
  "4 molto gentili" count; "4 giorni che aspetto", "ho 2 domande", "1 more question" do not,
  nor a score on a condition ("5 stelle se mi rimborsate") or given elsewhere ("5 stars on
  the app store but...").
- Outside 1 to 5 a bare number is not an answer ("0", "7", "10", "ordine 12345"). On a ten
  point scale ("8/10", "7 su 10") the score is half, rounded up: 10 and 9 are 5, 8 and 7 are
  4, 6 is 3, 0 to 2 are 1 ("x/100" likewise). With a scale or stars 0 is the bottom, 1 ("0/5",
  "zero stelle"). More than the scale ("11/10", "6/5") is 5 when a judgement comes with it,
  else nothing: "12/10 ordine non arrivato" is a date. Other scales are dates ("3/4").
- Stars: a run of ⭐★🌟 counts its filled stars, anywhere in the message ("★★★★☆" is 4; more
  than five filled is 5); one lone ⭐ is praise as often as a score, so it is not read.
- Words at the start, on the usual scale of care surveys: ottimo/excellent/perfect/top 5,
  buono/good/bene/soddisfatto/satisfied 4, discreto/ok/average/could be better 3,
  scarso/bad/poor/insoddisfatto 2, pessimo/terrible/awful 1; "molto", "very" move 4 and 2
  outwards ("very satisfied" 5); "pretty", "tutto" change nothing; a negation reads "not good"
  as bad (2), "non ottimo" as middling (3), "not bad"/"non pessimo" as 3; "not great" is
  English for bad (2). A noun of service may come before or after ("servizio pessimo",
  "great job"); one typo is forgiven in words of five letters or more ("otimo", "excelent").
- Words are weaker evidence than numbers, because the same words acknowledge what an agent
  said: "perfetto, aspetto la chiamata" and "ottimo allora attendo la mail" are not scores.
  So a word rating is not read in a message with a question mark, "ok"/"okay"/"va bene" only
  when alone, and a good or middling word (3 to 5) only alone or with a judgement ("perfetto,
  grazie mille", "ottimo lavoro ragazzi"). A bad word keeps any comment ("pessimo, ancora
  nessun rimborso"): nobody acknowledges with it.
- Emoji alone: 👍👌🙂😊 4, 😍❤️💯🔝 5, 😐 3, 👎🙁😞 2, 😡🤬 1 (👎 is "bad", the mirror of 👍,
  not "terrible"); two or more of one feeling move 4 and 2 outwards ("👍👍👍" is 5). With
  words an emoji is not a score: "😡 ancora niente" is a complaint.
- A score at the end of a short judgement without a question counts: "grazie, 5", "veloci e
  gentili: 5", "gentili ma lenti. 3", "siete stati bravissimi, vi do 5 stelle", but not "ci
  vediamo alle 5" or "il numero del pacco è 4".
- "grazie" alone, greetings and acknowledgements ("ok grazie") are not scores.

An explicit score keeps a question as its comment ("5, ma il rimborso quando arriva?"), so
the caller should show a comment to the team rather than only record the score.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from itertools import islice


@dataclass(frozen=True)
class Rating:
    score: int  # 1..5
    comment: str  # what the customer wrote besides the score, trimmed ("" if nothing)


def _words(spec: str) -> frozenset[str]:
    return frozenset(spec.split())


def _phrases(spec: str) -> tuple[tuple[str, ...], ...]:
    """ "e_stato was" is ("e", "stato"), ("was",): longest first, so the longest matches."""
    return tuple(sorted((tuple(p.split("_")) for p in spec.split()), key=len, reverse=True))


def _forms(spec: str, score: int) -> dict[str, int]:
    """ "ottim:oaie" is ottimo, ottima, ottimi, ottime (Italian endings); a plain word is itself."""
    table: dict[str, int] = {}
    for entry in spec.split():
        stem, _, endings = entry.partition(":")
        for ending in endings or "_":
            table[stem + ("" if ending == "_" else ending)] = score
    return table


# Words at the start of an answer, folded (lower case, no accents). "_" joins a phrase.
WORDS = {
    **_forms(
        """ottim:oaie perfett:oaie eccellent:ei eccezional:ei fantastic:oa fantastici
        fantastiche bravissim:oaie buonissim:oaie benissimo top massimo super superlativ:oaie
        impeccabil:ei excellent perfect great amazing awesome outstanding superb brilliant fantastic
        wonderful flawless best 10_e_lode top_notch""",
        5,
    ),
    **_forms(
        """buon:oaie brav:oaie bene soddisfatt:oaie content:oaie promoss:oaie good nice
        satisfied happy""",
        4,
    ),
    **_forms(
        """discret:oaie sufficient:ei nella_media cosi_cosi ok okay ok_dai va_bene fine
        average fair decent meh so-so soso alright normal:eai could_be_better
        could_have_been_better poteva_andare_meglio si_puo_migliorare""",
        3,
    ),
    **_forms(
        """scars:oaie scadent:ei mediocr:ei insufficient:ei male deludent:ei bad poor
        disappointing mediocre insoddisfatt:oaie scontent:oaie dissatisfied unsatisfied
        unhappy""",
        2,
    ),
    **_forms(
        """pessim:oaie orribil:ei malissimo vergognos:oaie terribil:ei disastros:oaie
        scarsissim:oaie bocciat:oaie fa_schifo terrible awful horrible worst useless rubbish
        appalling dreadful disgraceful disastro""",
        1,
    ),
}
# Acknowledgements first: they are a score only when they are the whole answer.
ACKNOWLEDGEMENTS = frozenset({"ok", "okay", "ok_dai", "va_bene", "alright"})
NEGATIONS = _phrases("non not nn never")
# Words that leave the score as it is: "pretty good" is good, "tutto perfetto" perfect.
QUALIFIERS = _phrases("pretty quite fairly rather abbastanza piuttosto tutto all")
INTENSIFIERS = _phrases(
    """molto very really davvero veramente proprio super so assolutamente absolutely
    estremamente extremely incredibly decisamente truly too troppo"""
)
# Negations that are not the rule's: English understatement.
NEGATED = {"great": 2}
# What a rating word may qualify: "servizio pessimo", "great job". The copula may follow a
# noun that comes first: "il servizio è stato ottimo", "service was great".
SERVICE = _phrases(
    """servizio assistenza supporto lavoro esperienza aiuto risposta team service support job
    work experience help assistance servizio_clienti assistenza_clienti customer_service
    customer_care customer_support"""
)
COPULAS = _phrases("e_stato e_stata e was is has_been been")
# Lead-ins that are part of the score, not of the comment: "il mio voto è 3", "I'd give you a 4".
LEAD_INS = _words(
    """voto il mio la mia e direi diciamo do ti vi un metto per me rating my score i i'd id
    would give rate you a say its it's it the solid easy sicuramente assolutamente decisamente
    definitely absolutely sinceramente onestamente francamente honestly frankly siete stati
    you're youre are were"""
)
# Greetings and interjections may open a message that ends with a score: "ciao, 5", "boh 3".
OPENERS = _words(
    """ciao salve buongiorno buonasera hi hello hey si certo yes sure boh mah beh mmm hmm uhm
    meh well"""
)
MAX_WORDS_BEFORE = 8  # a score at the end follows a short judgement, not a story
_SCORE_WORDS = 6  # the most a score at the end takes: "vi do 4 stelle su 5"
# A lead-in that cannot come right before a score: "il 5/10 ho ordinato" is a date.
NOT_LAST = _words("il la mio mia my the ti vi i i'd id would per its it's it siete stati are were")
# Lead-ins strong enough to announce a score at the end of a message: "tutto risolto, direi 4".
END_LEAD_INS = _words("voto direi diciamo do metto give rate rating score")
NUMBER_WORDS = {
    **dict.fromkeys(("uno", "one"), 1),
    **dict.fromkeys(("due", "two"), 2),
    **dict.fromkeys(("tre", "three"), 3),
    **dict.fromkeys(("quattro", "four"), 4),
    **dict.fromkeys(("cinque", "five"), 5),
    **dict.fromkeys(("dieci", "ten"), 10),
    "una": 1,  # only with stars: "una stella"
    "zero": 0,  # only with stars or a scale, like 0: "zero stelle" is the bottom
}
EMOJI = {
    **dict.fromkeys("😍🥰🤩❤💯🔝🏆", 5),
    **dict.fromkeys("👍👌🙂😊😀😃😄😁", 4),
    **dict.fromkeys("😐😑", 3),
    **dict.fromkeys("👎🙁☹😞😕😒", 2),
    **dict.fromkeys("😡🤬😠💩🤮🤢", 1),
}
FILLED_STARS, EMPTY_STARS = "⭐★🌟", "☆✩✰"

# A judgement: thanks, praise, blame, or a word that opens a comment ("ma", "because").
# Stems match any ending; the words after a bare number or a good word must include one.
_JUDGEMENT_STEMS = tuple(
    _words(
        """grazi ottim perfett eccellent eccezional fantastic brav gentil cortes disponibil
        professional competent incompetent veloc rapid lent pessim scars scadent benissim
        malissim buon discret sufficient insufficient orribil vergogn schif complimenti merit
        miglior meglio peggio peggior inutil puntual efficien celer risolt soddisfatt
        insoddisfatt delus deludent maleducat scortes pien preparat simpatic tempestiv
        thank cheers great good excellen perfect amazing awesome fantastic brilliant superb
        outstanding helpful unhelpful useless friendly polite rude quick fast slow prompt
        efficient nice lovely terribl awful horribl worst best decent solved sorted fixed
        resolved happy unhappy satisf dissatisf disappoint recommend deserv patient"""
    )
)
_JUDGEMENT_WORDS = _words(
    """top super bene male ok okay thx ty kind bad poor fine ma but pero perche because
    anche also molto very really so troppo too abbastanza pretty quite davvero veramente
    proprio ovviamente obviously definitely sicuramente assolutamente absolutely dai
    dubbio doubt forse maybe perhaps probably ragazzi raga guys team everyone tutti folks"""
)
# What a bare number counts when a noun follows: "4 giorni", "3 items", "1 more question".
_COUNTED_STEMS = tuple(
    _words(
        """giorn settiman minut second articol ordin pacc prodott domand messagg chiamat
        operator lavorativ persone mesi mese anni anno volte volta hour minute week month year
        item order package parcel product question message working dollar pound euro"""
    )
)
_COUNTED_WORDS = _words(
    """gg ore ora min mins sec days day hrs hr times time eur pezzi cose cosa thing things
    email mail sms calls call people agents more altre altri altro other cover giga gb"""
)
_TOP_SCALES = (5, 10, 100)
_DASHES = "-\u2013\u2014"  # hyphen, en and em dash
_SEPARATOR_MARKS = ",;:.!…)" + _DASHES
_LOOKS_ELSEWHERE = frozenset({"su", "sul", "sulla", "on", "in"})  # "5 stelle su trustpilot"
# A score with a condition is a bargain, not an answer: "5 stelle se mi rimborsate".
_CONDITIONS = frozenset({"se", "if", "quando", "when", "appena", "once", "solo", "only"})
_TYPO_MIN_LENGTH = 5

_ALNUM = re.compile(r"[^\W_]")
_HANDLES = re.compile(r"\s*(?:@\w+[\s,:]*)*")
_WORD = re.compile(r"[a-z0-9]+(?:['-][a-z0-9]+)*")
_NUMBER = re.compile(
    r"""(?P<n>\d+|(?:zero|uno|una|due|tre|quattro|cinque|one|two|three|four|five|dieci|ten)\b)
    (?:\ufe0f?\u20e3)?                                     # keycap: 4️⃣
    (?P<half>[.,]5(?!\d)|\s+(?:e|and)\s+(?:mezzo|a\s+half)\b|\s*½)?
    (?P<unit1>\s*(?:stell[ae]|stelline|stellette|stars?)\b|(?:\s*[⭐★🌟]\ufe0f?)+)?
    (?:\s*(?:/|su\b|out\s+of\b|outta\b|of\b|di\b)\s*(?P<scale>\d+|cinque\b|five\b|dieci\b|ten\b))?
    (?P<unit2>\s*(?:stell[ae]|stelline|stellette|stars?)\b|(?:\s*[⭐★🌟]\ufe0f?)+)?
    """,
    re.VERBOSE,
)
_STARS = re.compile(rf"(?:[{FILLED_STARS}{EMPTY_STARS}]\ufe0f?\s*)+")
_TRAILING = re.compile(r"(?P<before>.*?)(?P<sep>[,;:.!\-\u2013\u2014]+\s*|\s+)(?=\S)", re.DOTALL)


def read_rating(text: str) -> Rating | None:
    """The customer's score if `text` answers the survey; None when it is something else (a
    new question, a complaint without a score...). Deterministic, offline, microseconds."""
    folded = _fold(text)
    start = _HANDLES.match(folded)
    begin = start.end() if start else 0
    for reader in (_leading_number, _stars, _leading_words, _emoji_only, _trailing_number):
        rating = reader(text, folded, begin)
        if rating is not None:
            return rating
    return None


def _fold(text: str) -> str:
    """Lower case without accents, one character for each of `text`'s: a span found in the
    folded text cuts the original, so the comment keeps the customer's own spelling."""
    return text.translate(_FOLDED)


class _Folded(dict[int, str]):
    """str.translate's table, filled in as characters come."""

    def __missing__(self, code: int) -> str:
        char = chr(code)
        base = "".join(
            c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c)
        )
        lower = "'" if char == "\u2019" else base.lower()
        self[code] = folded = lower if len(lower) == 1 else char
        return folded


_FOLDED = _Folded()


def _comment(original: str) -> str:
    """The comment: trimmed, and "" when there is no word in it (trailing "!!!", "😊")."""
    comment = original.strip(" \t\n,;:." + _DASHES)
    return comment if any(c.isalnum() for c in comment) else ""


def _lead_in_end(folded: str, position: int) -> tuple[int, list[str]]:
    """Skip "voto", "il mio voto è", "I'd give you a", and a ":" after them; returns where
    they end and the words skipped."""
    skipped: list[str] = []
    while True:
        match = _WORD.match(folded, position)
        if not match or match.group(0) not in LEAD_INS:
            return position, skipped
        skipped.append(match.group(0))
        position = match.end()
        while position < len(folded) and folded[position] in " :":
            position += 1


def _separator(folded: str, position: int) -> tuple[bool, int]:
    """Skip spaces, punctuation that ends a score (",", "-", "!") and emoji; whether there was
    any besides spaces, and where the comment starts. Not "€", "%", "/", "?", letters, digits."""
    found = False
    while position < len(folded):
        char = folded[position]
        if char in _SEPARATOR_MARKS or unicodedata.category(char) in ("So", "Sk", "Mn", "Me"):
            found = True
        elif not char.isspace():
            break
        position += 1
    return found, position


# --- Numbers -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Number:
    value: int  # as written: 4 in "4/5", 8 in "8/10"
    score: int | None  # None: a number, but not a score (7, "3/4", "25/10")
    end: int
    explicit: bool  # a scale or stars came with it: "4/5", "4 stelle"
    over: bool  # more than the scale ("11/10"): needs a judgement to count


def _number(folded: str, position: int) -> _Number | None:
    """The number (and its scale, stars) after the lead-ins at `position`, if one is there."""
    position, skipped = _lead_in_end(folded, position)
    if skipped and skipped[-1] in NOT_LAST:
        return None
    match = _NUMBER.match(folded, position)
    if not match:
        return None
    raw = match.group("n")
    value = int(raw) if raw.isdigit() else NUMBER_WORDS[raw]
    scale_raw = match.group("scale")
    stars = bool(match.group("unit1") or match.group("unit2"))
    if scale_raw is None:
        if stars and value == 0:
            return _Number(value, 1, match.end(), True, False)  # "0 stelle", "zero stars"
        in_range = 1 <= value <= 5 and (raw != "una" or stars)
        return _Number(value, value if in_range else None, match.end(), stars, False)
    scale = int(scale_raw) if scale_raw.isdigit() else NUMBER_WORDS[scale_raw]
    if scale not in _TOP_SCALES:
        return _Number(value, None, match.end(), True, False)  # "3/4" is a date or a fraction
    if value > scale:
        return _Number(value, 5 if value <= 2 * scale else None, match.end(), True, True)
    # Half the ten-point score, rounded up: 9/10 is 5, 7/10 is 4; 0 is the bottom, 1.
    score = max(1, math.ceil(value * 5 / scale))
    return _Number(value, score, match.end(), True, False)


def _leading_number(text: str, folded: str, begin: int) -> Rating | None:
    number = _number(folded, begin)
    if number is None or number.score is None:
        return None
    rest = folded[number.end :]
    if not any(c.isalnum() for c in rest):
        return None if "?" in rest else Rating(number.score, "")
    separated, after = _separator(folded, number.end)
    if separated:
        if folded[after].isdigit():
            return None  # a range, a time, a list: "2-3 giorni", "4.30", "1, 2 e 3"
        if re.search(rf"\b{number.value + 1}[.)]", folded[after:]):
            return None  # a numbered list: "1) quando arriva 2) posso cambiare"
        if number.over and not _judges(folded[after:]):
            return None
        return Rating(number.score, _comment(text[after:]))
    if not rest[0].isspace():
        return None  # "5g", "5€", "4%", "5pm"
    words = _WORD.findall(rest)
    if words[0] in _CONDITIONS:
        return None  # "5 stelle se mi rimborsate": a bargain, not an answer
    if number.explicit:
        if words[0] in _LOOKS_ELSEWHERE:
            return None  # "5 stelle su trustpilot...": a score given somewhere else
        if number.over and not _judges(rest):
            return None
    elif _counts(words[0]) or not _judges(rest):
        return None  # "4 giorni che aspetto", "1 more question"
    return Rating(number.score, _comment(text[number.end :]))


def _counts(word: str) -> bool:
    return word in _COUNTED_WORDS or word.startswith(_COUNTED_STEMS)


def _judges(folded: str) -> bool:
    """A judgement among the first four words: thanks, praise, blame, "ma", "because"."""
    return any(
        w in _JUDGEMENT_WORDS or w.startswith(_JUDGEMENT_STEMS) for w in _WORD.findall(folded)[:4]
    )


# --- Stars and emoji -----------------------------------------------------------------------------


def _stars(text: str, folded: str, begin: int) -> Rating | None:
    runs = list(_STARS.finditer(folded, begin))
    if len(runs) != 1:
        return None
    run = runs[0]
    filled = sum(run.group(0).count(s) for s in FILLED_STARS)
    empty = sum(run.group(0).count(s) for s in EMPTY_STARS)
    if filled == 0 or (filled == 1 and empty == 0):
        return None  # "☆☆☆☆☆" says nothing; one "⭐" is praise as often as a score
    if empty and filled + empty != 5:
        score = max(1, math.ceil(filled * 5 / (filled + empty)))  # "★★★★★★★☆☆☆" of ten
    else:
        score = min(filled, 5)
    comment = text[begin : run.start()] + " " + text[run.end() :]
    return Rating(score, _comment(" ".join(comment.split())))


def _emoji_only(text: str, folded: str, begin: int) -> Rating | None:
    if _ALNUM.search(folded, begin):
        return None
    symbols = [c for c in folded[begin:] if not c.isspace()]
    scores = [EMOJI[c] for c in symbols if c in EMOJI]
    if not scores or (min(scores) < 3 < max(scores)):
        return None  # no known feeling, or two opposite ones
    score = max(scores) if min(scores) >= 3 else min(scores)
    if len(scores) >= 2:
        score = {4: 5, 2: 1}.get(score, score)
    return Rating(score, "")


# --- Words ---------------------------------------------------------------------------------------


def _leading_words(text: str, folded: str, begin: int) -> Rating | None:
    if "?" in folded:
        return None  # "ottimo, ma quando arriva?": a question, whatever word comes first
    position, _ = _lead_in_end(folded, begin)
    if _WORD.match(folded, position) is None:
        return None
    spans = [(m.group(0), m.end()) for m in islice(_WORD.finditer(folded, position), 12)]
    words = [w for w, _ in spans]
    # "servizio pessimo", "il servizio clienti è stato ottimo"
    first_service = _phrase_length(words, 0, SERVICE)
    index = first_service
    if first_service:
        index += _phrase_length(words, index, COPULAS)
    index += _phrase_length(words, index, QUALIFIERS)  # "pretty good" is good
    negated = _phrase_length(words, index, NEGATIONS) == 1
    index += negated
    intensified = _phrase_length(words, index, INTENSIFIERS) == 1
    found = _rating_word(words, index + intensified)
    if found is None and intensified:  # "super" is a rating of its own
        found, intensified = _rating_word(words, index), False
    if found is None:
        return None
    key, score, index = found
    if negated:
        score = NEGATED.get(key, {5: 3, 4: 2, 3: 2}.get(score, 3))
    elif intensified:
        score = {4: 5, 2: 1}.get(score, score)
    if first_service == 0:
        index += _phrase_length(words, index, SERVICE)  # "ottimo servizio", "great job"
    end = spans[index - 1][1]
    if not any(c.isalnum() for c in folded[end:]):
        return Rating(score, "")
    if key in ACKNOWLEDGEMENTS and not negated:
        return None  # "ok grazie", "ok ci provo": an acknowledgement
    separated, comment_start = _separator(folded, end)
    if not separated and not (index < len(words) and _judges(words[index])):
        return None  # the word qualifies something else: "buona giornata", "bad signal"
    if score >= 3 and not _judges(folded[comment_start:]):
        return None  # "perfetto, aspetto la chiamata": an acknowledgement
    return Rating(score, _comment(text[comment_start:]))


def _phrase_length(words: list[str], index: int, phrases: tuple[tuple[str, ...], ...]) -> int:
    """How many words from `index` make the longest of `phrases` found there; 0 if none."""
    for phrase in phrases:
        if tuple(words[index : index + len(phrase)]) == phrase:
            return len(phrase)
    return 0


def _rating_word(words: list[str], index: int) -> tuple[str, int, int] | None:
    """The rating word or phrase at `index`: (its key in WORDS, score, index after it)."""
    for length in (4, 3, 2, 1):
        key = "_".join(words[index : index + length])
        if len(words) - index >= length and key in WORDS:
            return key, WORDS[key], index + length
    spelt = _spelling(words[index]) if index < len(words) else None
    if spelt is not None:
        return spelt, WORDS[spelt], index + 1
    return None


@lru_cache(maxsize=4096)
def _spelling(word: str) -> str | None:
    """A rating word written long ("ottimooo", "goood") or with one typo ("otimo",
    "excelent"); the first letter is never the typo, so "bad" stays away from "sad"."""
    shortened = {re.sub(r"(.)\1{2,}", r"\1", word), re.sub(r"(.)\1{2,}", r"\1\1", word)}
    for candidate in shortened:
        if candidate in WORDS:
            return candidate
    if len(word) < _TYPO_MIN_LENGTH:
        return None
    close = {k for k in WORDS if "_" not in k and k[0] == word[0] and _one_edit(word, k)}
    scores = {WORDS[k] for k in close}
    return min(close) if len(scores) == 1 else None


def _one_edit(a: str, b: str) -> bool:
    """One letter deleted, inserted, changed, or two neighbours swapped."""
    if abs(len(a) - len(b)) > 1 or a == b:
        return False
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        return len(diff) == 1 or (
            len(diff) == 2
            and diff[1] == diff[0] + 1
            and a[diff[0]] == b[diff[1]]
            and a[diff[1]] == b[diff[0]]
        )
    short, long = (a, b) if len(a) < len(b) else (b, a)
    return any(long[:i] + long[i + 1 :] == short for i in range(len(long)))


# --- A score at the end --------------------------------------------------------------------------


def _trailing_number(text: str, folded: str, begin: int) -> Rating | None:
    """ "grazie, 5", "gentili ma lenti. 3", "siete stati bravissimi, vi do 5 stelle"."""
    if "?" in folded or len(_WORD.findall(folded, begin)) > MAX_WORDS_BEFORE + _SCORE_WORDS:
        return None
    for match in _TRAILING.finditer(folded, begin):
        number = _number(folded, match.end())
        if number is None or number.score is None or number.over:
            continue
        if any(c.isalnum() for c in folded[number.end :]):
            continue  # not the end of the message
        before = folded[begin : match.start("sep")]
        words = _WORD.findall(before)
        if not words or len(words) > MAX_WORDS_BEFORE:
            return None
        _, lead_ins = _lead_in_end(folded, match.end())
        announced = any(w in END_LEAD_INS for w in lead_ins)
        opened = all(w in OPENERS for w in words)  # "ciao, 5", "boh 3"
        if not match.group("sep").strip() and not (announced or opened or _judges(words[-1])):
            return None  # "ci vediamo alle 5", "il numero del pacco è 4"
        if not (announced or opened or _judges(before)):
            return None
        return Rating(number.score, _comment(text[begin : match.start("sep")]))
    return None
