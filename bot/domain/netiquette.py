"""Netiquette: is an inbound message abusive, so that it gets a public netiquette notice?

A wrong notice embarrasses the brand in public, so the rules favour precision. The policy:

- ABUSE: an insult or slur aimed at a person (the agent, the staff, other people), a threat of
  violence, or a vulgar imperative aimed at someone ("vaffanculo", "fuck off", "go to hell").
  The brand's "you" counts as a person: "siete degli idioti" is abuse.
- Slurs are abuse wherever they appear, unless quoted or reported.
- NOT abuse (a complaint to answer): vulgarity aimed at a thing ("servizio di merda", "your app
  is a piece of shit", "fa schifo", "fuck this app"); vulgarity aimed at nobody ("cazzo, di
  nuovo giù", "fucking brilliant service"); accusations about the service ("siete dei ladri",
  "you're incompetent", "you guys suck"); legal or commercial threats ("you'll regret this",
  "vi denuncio"); quoted or reported insults ("he called me an idiot"); self-deprecation ("sono
  un idiota, ho bloccato la carta"); negated insults ("I'm not calling you idiots, but...");
  sarcasm without an explicit insult; figurative violence ("killer deal", "da morire").

Method: transparent rules, no model. The text is normalised (case, accents, leetspeak "1d10t",
masks "st*pid", stretched letters "idiotaaa", spaced letters "i d i o t a"), quoted spans are
dropped, then three checks run: slurs, phrase patterns (threats and vulgar imperatives), and
insult words with their target. A STRONG insult ("idiota", "moron") names a person unless the
words around it show the writer ("sono un idiota"), a thing ("app ... piece of shit") or a
negation; a WEAK one ("stupid", "merda") needs a person to be named ("sei stupido").
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum


class Verdict(StrEnum):
    ABUSE = "abuse"  # gets a public netiquette notice
    OK = "ok"


@dataclass(frozen=True)
class Assessment:
    verdict: Verdict
    reasons: tuple[str, ...] = ()  # for the thread label, e.g. "insult aimed at a person: 'idiota'"


def _words(spec: str) -> frozenset[str]:
    """Expand a compact lexicon: "idiot:a,e,i" is idiota, idiote, idioti; "idiot:,s" is idiot,
    idiots; a multiword entry joins its words with "_" ("testa_di_cazzo")."""
    words: set[str] = set()
    for entry in spec.split():
        stem, _, endings = entry.partition(":")
        words.update(stem + ending for ending in endings.split(",")) if endings else words.add(stem)
    return frozenset(words)


# --- Lexicons, per language ---------------------------------------------------------------------
# Slurs: abusive wherever they appear (unless quoted or reported). Kept to a short list on
# purpose; extend with care, every entry here can put a public notice under a customer's post.
SLURS = {
    "en": _words("retard:,s faggot:,s tranny trannies spastic:,s spaz nigger:,s"),
    "it": _words("froci:o,a,e ricchion:e,i negr:o,a,i,e terron:e,i mongoloid:e,i"),
}
# Strong insults name a person: abuse unless the writer, a thing or a negation is the target.
STRONG = {
    "en": _words(
        "idiot:,s moron:,s imbecile:,s cretin:,s dumbass:,es dipshit:,s asshole:,s arsehole:,s"
        " bastard:,s bitch:,es cunt:,s dickhead:,s wanker:,s tosser:,s twat:,s douchebag:,s"
        " scumbag:,s scum motherfucker:,s shithead:,s prick:,s clowns losers"
        " piece_of_shit pieces_of_shit"
    ),
    "it": _words(
        "idiot:a,e,i cretin:o,a,i,e imbecill:e,i deficient:e,i coglion:e,a,i stronz:o,a,i,e"
        " bastard:o,a,i,e puttan:a,e troi:a,e zoccol:a,e cazzon:e,i minchion:e,i"
        " mentecatt:o,a,i,e dement:e,i pagliacci buffoni feccia leccacul:o,i"
        " testa_di_cazzo teste_di_cazzo pezzo_di_merda pezzi_di_merda faccia_di_merda"
        " figlio_di_puttana figli_di_puttana figlio_di_troia figli_di_troia"
    ),
}
# Weak insults also describe things ("stupid app", "volo ritardato"): abuse only when aimed.
WEAK = {
    "en": _words(
        "stupid dumb retarded idiotic dick:,s jerk:,s loser clown shit fool:,s braindead"
        " son_of_a_bitch"
    ),
    "it": _words(
        "stupid:o,a,i,e scem:o,a,i,e ritardat:o,a,i,e handicappat:o,a,i,e babbe:o,a,i,e"
        " somar:o,a,i,e pagliaccio buffon:e,a verm:e,i merda merde cesso schifos:o,a,i,e"
        " besti:a,e"
    ),
}
# Vulgar imperatives aimed at the reader. The English ones are checked in Italian text too:
# Italian customers borrow them ("fuck you, sempre la stessa storia").
DIRECT = {
    "en": (
        r"(fuck|fck|f) (you|u|ya|yall|off|yourself|yourselves)",
        r"go fuck",
        r"get fucked",
        r"screw (you|u)",
        r"stfu",
        r"shut the fuck up",
        r"kiss my (ass|arse)",
        r"suck my (dick|cock|balls)",
        r"eat shit",
        r"go to hell",
        r"drop dead",
        r"piss off",
        r"up yours",
        r"shove [\w ]{1,30} up your (ass|arse)",
        r"(go )?(kill|hang) (yourself|yourselves|urself)",  # incitement to suicide
        r"kys",
        r"(go )?die in a fire",
        r"go die",
        r"rot in hell",
    ),
    "it": (
        r"(vaffanculo|vaffa|fanculo|affanculo)",
        r"va (a )?fa ?n culo",
        r"(va|vai|vada|andate|andatevene) (a )?(fare |farti |farvi )?(in|n) culo",
        r"(va|vai|andate|andatevene) (tutti )?a (cagare|quel paese|farti fottere|farvi fottere)",
        r"(va|vai|andate) (tutti )?(all|al) (inferno|diavolo)",
        r"(fottiti|fottetevi|fatti fottere|fatevi fottere)",
        r"chiudi quella fogna",
        r"(ti|vi) (venisse|venga) un (colpo|accidente|cancro)",
        r"(crepa|crepate)",
        r"(ammazzati|ammazzatevi|impiccati|impiccatevi)",  # incitement to suicide
        r"(muori|morite) (male|ammazzat\w)",
    ),
}
# Threats of violence against a person or their property ("ill" is "I'll" without apostrophe).
_WILL = r"(i ll|ill|i will|im gonna|i m gonna|im going to|i m going to|gonna|going to)"
THREATS = {
    "en": (
        _WILL
        + r" (kill|murder|stab|shoot|hurt|strangle|beat|punch) (you|u|ya|yall|him|her|them)"
        + r"(?! (with kindness|to (it|the punch)))",
        r"(smash|break|punch|kick) (your|his|her|their) (face|head|teeth|legs)",
        r"(burn|torch|bomb|blow up) (down )?your (\w+ ){0,2}(store|shop|office|branch|house|home"
        r"|car|desk|building|warehouse|van|place)",
        r"i know where (you|u) (live|work)",
        r"watch your back",
        r"(you|u) (re|are|r) dead(?! (to me|wrong|right|serious|on))",
        r"(hope|wish) (you|u|your [\w ]{1,30}) (die|dies|get cancer)",
        r"dies in a fire",
        r"someone should (shoot|kill|stab)",
        r"bullet (in|through) your",
        r"wait(ing)? (for you )?outside your",
    ),
    "it": (
        r"(ti|vi|te|ve|gli|le|t) (ammazz|uccid|spar|spacc|sfasc|accoltell|strozz|picchi)\w*",
        r"(ti|vi|te|ve) (meno|do fuoco)",
        r"(ti|vi|gli|le) rompo (la faccia|le gambe|le ossa|il culo|la testa)",
        r"(ti|vi) (faccio a pezzi|vengo a prendere|aspetto fuori)",
        r"(vi|ti) (brucio|incendio|faccio saltare)",
        r"(brucio|incendio|do fuoco a) (il|al|la|alla) (vostro |vostra )?(negozio|filiale|sede)",
        r"so dove (abiti|abitate|vivi|vivete|lavori|lavorate)",
        r"(sei morto|sei morta|siete morti)",
        r"spero che (tu )?(muoia|moriate|crepi|crepiate)",
    ),
}
# Expressions that contain an insult word but insult nobody: exclamations and compounds.
EXCEPTIONS = (
    r"porc[oa] \w+",  # porca troia, porca puttana: "damn"
    r"che (coglioni|palle)(?! che)",  # "what a drag"
    r"(i|ai|sui|coi) coglioni",  # the body part: "mi avete rotto i coglioni"
    r"idiot proof",
    r"lucky (bastard|bastards|bitch)",
    r"bitch (of it|to \w+)",  # "a bitch to assemble": hard, not a person
    r"holy (fuck|shit)",
    r"shit you not",
    r"a prova di (idiota|scemo|stupido)",
)

# --- Target cues (both languages: they do not collide) ----------------------------------------
# Second and third person: aimed at someone, but only when it comes before the insult.
ADDRESS = _words(
    "you u ya yall youre ur he she they him them whoever someone somebody everyone anyone"
    " sei siete tu voi te lui lei loro quel quello quella quelli quelle quei"
)
PEOPLE = ADDRESS | _words(
    " staff agent:,s employee:,s manager:,s ceo boss driver:,s courier:,s rider:,s engineer:,s"
    " technician:,s clerk:,s cashier:,s steward:,s,ess crew pilot:,s guy:,s girl:,s woman women"
    " man men lady dude:,s people person folks team bunch lot"
    " operator:e,i,rice,rici commess:o,a,i,e corrier:e,i fattorin:o,i impiegat:o,a,i,e"
    " dipendent:e,i personale addett:o,a,i,e responsabil:e,i direttor:e,i,e capo tecnic:o,i"
    " hostess autist:a,i gente ragazz:o,a,i,e signor:e,a,i tizi:o,a tipa cassier:e,a,i"
    " centralinist:a,i,e branco manica banda massa"
)
SELF = _words("m im me myself we us io mi noi siamo ero feel felt feeling sento sentito sentita")
THINGS = _words(
    "service:,s app:,s website:,s site product:,s phone:,s order:,s parcel:,s package:,s delivery"
    " bill:,s,ing price:,s policy policies system:,s update:,s company network connection wifi"
    " internet broadband flight:,s airline food pizza card account process experience reply"
    " response answer question:,s idea move decision rule:,s queue wait chatbot bot thing:,s"
    " stuff mistake excuse error router line signal plan contract show life proof"
    " servizi:o procedura app applicazione sit:o,i prodott:o,i telefon:o,i cellulare ordin:e,i"
    " pacc:o,hi consegn:a,e bollett:a,e fattur:a,e prezz:o,i tariff:a,e sistema aggiornamento"
    " aziend:a,e compagnia rete linea connessione fibra vol:o,i cibo carta conto risposta"
    " domanda idea regola attesa coda roba cosa tracking offerta contratto errore scelta vita"
)
THIS = _words("this that it these those questo questa sto sta cio")  # things, for weak words
NEGATIONS = _words("not t never non mai")
FILLERS = _words(
    "a an the un una uno il lo la l gli le dei degli delle del della dello dell di da of like"
    " come is are was were be been being r re s am e era eri erano stato stata stati state"
    " so such too very total totally complete completely absolute absolutely real really utter"
    " utterly just fucking fuckin bloody little big biggest huge massive all genuinely literally"
    " proprio davvero vero vera veri vere gran grande grandissimo emerito autentico tutti tutte"
    " solo soltanto cosi molto troppo pure"
    " your yours his her their our vostro vostra vostri vostre tuo tua tuoi tue suo sua"
    " useless pathetic worthless brainless lazy greedy arrogant rude incompetent condescending"
    " incompetenti incapaci inutili brutt:o,a,i,e lurid:o,a,i,e sporc:o,a,hi,he maledett:o,a,i,e"
)
# Someone else's words: the insult is reported, not made ("called me", "mi ha dato del").
REPORTED = re.compile(
    r"\b(called|call|calling|calls) (me|us|my)\b|\b(told|tells|tell) (me|us)\b"
    r"|\bsaid (i|we|my|that)\b|\bsays (i|im|we)\b|\b(shouted|yelled|screamed|swore)\b"
    r"|\b(treat|treats|treated|treating) [\w ]{0,25}\blike\b|\b(take|took|taking) (me|us) for\b"
    r"|\b(tratt|prend)\w* [\w ]{0,25}\b(per|come|da)\b"
    r"|\b(not|never) (calling|saying|say)\b|\bnon (sto )?(dico|dicendo)\b"
    r"|\b(mi|ci) (ha|hanno) (dato|detto|chiamat\w*|urlato|insultat\w*|trattat\w*)\b"
    r"|\b(dare|dato|dando|danno|dai) (del|della|dello|dell|dei|degli|delle)\b"
    r"|\b(dice|dicono|detto|dicendo|dicendomi|chiamandomi|chiamato|chiamata)\b"
)

_SENTENCE_END = "."
_CLAUSE_END = ","
_LEET = str.maketrans("013457$@!", "oieastsai")
_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_HANDLE = re.compile(r"@\w+")
# Quoted spans are someone else's words: "he said 'move, you idiot'". A single quote opens a span
# only after a space, so apostrophes (l'idiota, don't) never do.
_QUOTED = re.compile(
    r'"[^"\n]{1,80}"|“[^”\n]{1,80}”|«[^»\n]{1,80}»'
    r"|\u2018[^\u2019\n]{1,40}\u2019|(?<!\w)'[^'\n]{1,40}'(?!\w)"
)
_SPACED = re.compile(r"(?<![\w*])(?:[a-z][ .\-_]){2,}[a-z](?![\w*])", re.IGNORECASE)
_CHUNK = re.compile(r"[\w*$@!']+|[.?;:\n]|,")
_RUN = re.compile(r"(\w)\1{2,}")


@dataclass(frozen=True)
class _Token:
    word: str  # normalised: lower case, no accents, de-obfuscated; "." and "," are boundaries
    name: bool = False  # Titlecase after a lowercase word: a proper noun (Troia, Dick, Negro)


def _languages(language: str | None) -> tuple[str, ...]:
    if language not in (None, "en", "it"):
        raise ValueError(f"unsupported language {language!r}: use 'it', 'en' or None")
    return ("en", "it") if language is None else (language,)


def _union(table: dict[str, frozenset[str]], languages: tuple[str, ...]) -> frozenset[str]:
    return frozenset().union(*(table[lang] for lang in languages))


_ALL_WORDS = _union(SLURS, ("en", "it")) | _union(STRONG, ("en", "it")) | _union(WEAK, ("en", "it"))
# Every word a rule looks at: only these are worth de-obfuscating (so "5G" stays "5g").
_KNOWN = (
    _ALL_WORDS
    | PEOPLE
    | SELF
    | THINGS
    | THIS
    | NEGATIONS
    | FILLERS
    | _words("fuck fck off kill ammazzo uccido sparo vaffanculo fanculo affanculo cazzo ti vi")
)
# People mask the words they know are rude, so a mask reads as a vulgarity first: "f***" is
# "fuck", not "fool". Sorted within each rank, so a mask's reading is stable.
_VULGAR = _words("fuck fucking fck shit cunt dick cock cazzo merda culo vaffanculo fanculo")
_MASKABLE = sorted(
    (w for w in _KNOWN | _VULGAR if "_" not in w),
    key=lambda w: (w not in _VULGAR, w not in _ALL_WORDS, w),
)


def _normalise_word(raw: str) -> str:
    """One word, de-obfuscated when the result is a word the rules know."""
    word = raw.lower()
    if word in _KNOWN:
        return word
    if "*" in word and word.strip("*"):
        mask = re.compile(re.escape(word).replace(r"\*", "[a-z]"))
        found = next((w for w in _MASKABLE if mask.fullmatch(w)), None)
        return found or word.replace("*", "")
    candidates = [word.translate(_LEET)] if re.search(r"[a-z]", word) else []
    for candidate in [word, *candidates]:
        for squeezed in (_RUN.sub(r"\1", candidate), _RUN.sub(r"\1\1", candidate)):
            if squeezed in _KNOWN:
                return squeezed
        if candidate in _KNOWN:
            return candidate
    return word.strip("$@!")


def _join_spaced(match: re.Match[str]) -> str:
    """ "i d i o t a" is "idiota"; "a e i" stays as it is (only words the rules know join)."""
    joined = re.sub(r"[ .\-_]", "", match.group(0)).lower()
    return joined if _normalise_word(joined) in _KNOWN else match.group(0)


def _tokens(text: str) -> list[_Token]:
    """Normalised words and boundaries, with URLs, handles and quoted spans removed."""
    text = _URL.sub(" ", text.replace("\u2019", "'"))
    text = _HANDLE.sub(" . ", text)  # a handle starts or ends a sentence: "@X Idioti"
    text = _QUOTED.sub(" ", text)
    text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    text = _SPACED.sub(_join_spaced, text)
    tokens: list[_Token] = []
    previous = ""  # the previous word as written, to spot proper nouns
    for chunk in _CHUNK.findall(text):
        if chunk in ".?;:\n" or chunk == ",":
            tokens.append(_Token(_CLAUSE_END if chunk == "," else _SENTENCE_END))
            previous = ""
            continue
        for part in filter(None, chunk.strip("!'").split("'")):  # l'idiota, you're, 'n culo
            name = part[:1].isupper() and part[1:].islower() and previous.islower()
            tokens.append(_Token(_normalise_word(part), name=name))
            previous = part
        if chunk.rstrip("'").endswith("!"):
            tokens.append(_Token(_SENTENCE_END))
            previous = ""
    return _merge_phrases(tokens)


def _merge_phrases(tokens: list[_Token]) -> list[_Token]:
    """Multiword insults ("testa di cazzo") become one token, so the target rules see one word."""
    phrases = [w.split("_") for w in _ALL_WORDS if "_" in w]
    merged: list[_Token] = []
    i = 0
    while i < len(tokens):
        words = [t.word for t in tokens[i : i + 4]]
        phrase = next((p for p in phrases if words[: len(p)] == p), None)
        size = len(phrase) if phrase else 1
        merged.append(_Token("_".join(phrase)) if phrase else tokens[i])
        i += size
    return merged


def _spans(pattern: str, joined: str) -> list[tuple[int, int, str]]:
    """(first token, last token, matched text) for each match of a pattern over the tokens."""
    found = []
    for match in re.finditer(rf"(?<!\S){pattern}(?!\w)", joined):
        first = joined.count(" ", 0, match.start())
        found.append((first, first + match.group(0).count(" "), match.group(0).strip()))
    return found


def _reported(words: list[str], index: int) -> bool:
    """Someone else's words: a reporting cue earlier in the same sentence."""
    start = max((i for i in range(index) if words[i] == _SENTENCE_END), default=-1) + 1
    return REPORTED.search(" ".join(words[start:index])) is not None


def _target(words: list[str], index: int, strong: bool) -> str:
    """Who an insult word is aimed at: "person", "self", "thing", "negated" or "unknown"."""
    word = words[index]
    ahead = [w for w in words[index + 1 : index + 5] if w not in FILLERS]
    ahead = ahead[: ahead.index(_CLAUSE_END)] if _CLAUSE_END in ahead else ahead
    ahead = ahead[: ahead.index(_SENTENCE_END)] if _SENTENCE_END in ahead else ahead
    if ahead[:1] in (["io"], ["me"], ["myself"]) or ahead[:2] in (["che", "sono"], ["che", "ero"]):
        return "self"  # "stupida io che ho rinnovato", "che cretina che sono", "stupid of me"
    if ahead[:1] and ahead[0] in THINGS:
        return "thing"  # "stupid question", "dumb phone"
    if words[index + 1 : index + 3] in (["i", "am"], ["i", "m"]):
        return "self"  # "what an idiot I am"
    if not strong and ahead[:1] and ahead[0] in PEOPLE - ADDRESS:
        return "person"  # "stupid people", "quel pagliaccio del vostro steward"
    between: list[str] = []
    for i in range(index - 1, -1, -1):
        head = words[i]
        if head in (_SENTENCE_END, _CLAUSE_END):
            return "unknown"
        if head == "i" and not between:
            between.append(head)  # Italian article ("i cretini"), not English "I"
            continue
        if head in FILLERS:
            between.append(head)
            continue
        if head in NEGATIONS:
            return "negated"  # "you're not idiots"
        negated = i > 0 and words[i - 1] in NEGATIONS
        if head == "sono":  # "sono un idiota" (I am) or "sono degli idioti" (they are)
            plural = bool({"dei", "degli", "delle"} & set(between)) or (
                not {"un", "una", "uno"} & set(between) and word.endswith("i")
            )
            return "negated" if negated else ("person" if plural else "self")
        if head in PEOPLE:
            return "negated" if negated else "person"
        if head in SELF or head == "i":
            return "self"
        if head in THINGS or (not strong and head in THIS):
            return "thing"
        return "unknown"
    return "unknown"


def assess(text: str, language: str | None = None) -> Assessment:
    """Judge one inbound message; `language` ("it", "en") narrows the lexicons, None uses both."""
    languages = _languages(language)
    tokens = _tokens(text)
    words = [t.word for t in tokens]
    for pattern in EXCEPTIONS:
        for first, last, _ in _spans(pattern, " ".join(words)):
            words[first : last + 1] = ["~"] * (last + 1 - first)  # "~": a word that means nothing
    joined = " ".join(words)
    reasons: list[str] = []

    def unless_reported(reason: str, index: int) -> None:
        if not _reported(words, index) and reason not in reasons:
            reasons.append(reason)

    checks = (
        ("threat", [p for lang in languages for p in THREATS[lang]]),
        (
            "vulgarity aimed at a person",
            [p for lang in dict.fromkeys((*languages, "en")) for p in DIRECT[lang]],
        ),
    )
    for kind, patterns in checks:
        for pattern in patterns:
            for first, _, matched in _spans(pattern, joined):
                unless_reported(f"{kind}: '{matched}'", first)
    slurs, strong, weak = (_union(t, languages) for t in (SLURS, STRONG, WEAK))
    lexicon = slurs | strong | weak
    for index, (token, word) in enumerate(zip(tokens, words, strict=True)):
        if token.name or word not in lexicon:
            continue
        shown = word.replace("_", " ")
        if word in slurs:
            unless_reported(f"slur: '{shown}'", index)
        elif _target(words, index, strong=word in strong) in (
            ("person", "unknown") if word in strong else ("person",)
        ):
            unless_reported(f"insult aimed at a person: '{shown}'", index)
    return Assessment(Verdict.ABUSE if reasons else Verdict.OK, tuple(reasons))


def is_abusive(text: str) -> bool:
    """True when the message should get a public netiquette notice (both languages' rules)."""
    return assess(text).verdict == Verdict.ABUSE
