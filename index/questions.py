"""Reading a question: cleaning it, its words for lexical search, the dates and answer type it asks for."""

from __future__ import annotations

import datetime as dt
import functools
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from .errors import InvalidQuestion

__all__ = [
    "MAX_QUESTION_CHARS",
    "STOPWORDS",
    "AnswerType",
    "QuestionDates",
    "answer_type",
    "clean_question",
    "content_words",
    "lexical_query",
    "months_in",
    "months_named",
    "ordinals_in",
    "ordinals_named",
    "shows_answer_type",
    "subject_terms",
]

MAX_QUESTION_CHARS = 500

_INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff\u00ad]")
_WORD = re.compile(r"\w+")
STOPWORDS = _STOPWORDS = frozenset(
    """a an and are as at be been but by can could did do does for from had has have how i if in into is it
    its me my of on or our so than that the their them then there these they this to was we were what when
    where which who whom whose why will with would you your about any all also just more most not no nor
    only other over same some such too very s t don should now tell know want said say says""".split()
)


def clean_question(text: str, *, max_chars: int = MAX_QUESTION_CHARS) -> str:
    """Normalise a question for search, or raise InvalidQuestion saying what is wrong with it."""
    if not isinstance(text, str):
        raise InvalidQuestion("The question must be text.")
    text = unicodedata.normalize("NFC", text)
    text = _INVISIBLE.sub("", text)
    text = "".join(" " if unicodedata.category(c) in ("Cc", "Cs", "Co", "Cn") else c for c in text)
    text = " ".join(text.split())
    if not text:
        raise InvalidQuestion("The question is empty; type a question about the talks.")
    if len(text) > max_chars:
        raise InvalidQuestion(f"The question is too long ({len(text):,} characters; at most {max_chars}).")
    if not _WORD.search(text):
        raise InvalidQuestion("The question has no words to search for; ask it in words.")
    return text


def _terms(question: str, skip: frozenset[str]) -> tuple[str, ...]:
    """The question's words in order, once each, without ``skip`` and single letters (digits stay)."""
    words = (w for w in _WORD.findall(question.casefold()) if w not in skip and (len(w) > 1 or w.isdigit()))
    return tuple(dict.fromkeys(words))


def lexical_query(question: str) -> str:
    """An FTS5 MATCH expression from a question's content words, each quoted: no FTS syntax gets through."""
    # \w+ never contains a double quote, so quoting makes every term a plain string literal.
    return " OR ".join(f'"{t}"' for t in _terms(question, _STOPWORDS)[:32])


# Words that ask about something without naming it: "who's X", "tell me about X", "X's role in all this".
_ASKING_WORDS = _STOPWORDS | frozenset(
    "whos whats hows who what is are was were role roles part info information explain describe background "
    "anything something everything thing things more much else please mean means meant deal happening".split()
)


def subject_terms(question: str) -> tuple[str, ...]:
    """What a question names once its asking words are gone: ("hakan", "fidan") for "whats hakan fidan's role"."""
    return _terms(question, _ASKING_WORDS)


def content_words(question: str) -> set[str]:
    """The question's words that carry meaning (no stopwords)."""
    return {w for w in _WORD.findall(question.casefold()) if w not in _STOPWORDS}


def _numbered(names: str) -> dict[str, int]:
    """{"jan": 1, "january": 1, "feb": 2, ...} from "january jan, february feb, ...": a number per comma."""
    return {word: n for n, group in enumerate(names.split(","), start=1) for word in group.split()}


_MONTHS = _numbered(
    "january jan, february feb, march mar, april apr, may, june jun, july jul, august aug, "
    "september sep sept, october oct, november nov, december dec"
)
# "may" is a month only where a date would stand: "in May", "on 16 May", "May 16", "mid-May".
_MAY_AS_MONTH = re.compile(
    r"\b(?:in|of|on|since|until|till|by|early|late|mid|before|after|\d{1,2})[\s-]+may\b|\bmay\s+\d{1,2}\b"
)
_YEAR = re.compile(r"\b(19[5-9]\d|20\d\d)\b")
# Asking how things stand now: the newest reporting answers it ("is there a date yet", "the latest round").
_LATEST = re.compile(
    r"\b(?:latest|newest|most recent(?:ly)?|recent(?:ly)?|current(?:ly)?|now|yet|still|next|upcoming|so far"
    r"|lately|any ?more|these days|as of today|last (?:round|meeting|session|talks))\b"
)
# "the third round", "second Istanbul talks", "4th meeting": which of a series of meetings is meant.
_ORDINALS = _numbered(
    "first 1st, second 2nd, third 3rd, fourth 4th, fifth 5th, sixth 6th, seventh 7th, eighth 8th, ninth 9th, tenth 10th"
)
_ORDINAL_MEETING = re.compile(
    r"\b(" + "|".join(_ORDINALS) + r")[\s-]+(?:(?:round|session)\b|(?:(?:istanbul|direct|peace|face-to-face)\s+)*"
    r"(?:talks|meeting|negotiations)\b)"
)


def months_named(text: str) -> frozenset[int]:
    """Months a text names: {6} for "in June"; "may" only where a date would stand ("in May", "May 16")."""
    lowered = text.casefold()
    return months_in(lowered, _WORD.findall(lowered))


def months_in(lowered: str, words: Iterable[str]) -> frozenset[int]:
    """``months_named`` for a casefolded text already split into its words (``\\w+``)."""
    return frozenset(_MONTHS[word] for word in _MONTHS.keys() & words if word != "may" or _MAY_AS_MONTH.search(lowered))


def ordinals_named(text: str) -> frozenset[int]:
    """Ordinal numbers a text names, in words or digits: {3} for "the third round" or "3rd"."""
    return ordinals_in(_WORD.findall(text.casefold()))


def ordinals_in(words: Iterable[str]) -> frozenset[int]:
    """``ordinals_named`` for a casefolded text already split into its words (``\\w+``)."""
    return frozenset(_ORDINALS[word] for word in _ORDINALS.keys() & words)


@functools.lru_cache(maxsize=4096)
def meeting_ordinals(text: str) -> frozenset[int]:
    """Which meetings of a series a text names by number: {3} for "the third round of talks"."""
    return frozenset(_ORDINALS[word] for word in _ORDINAL_MEETING.findall(text.casefold()))


@dataclass(frozen=True, slots=True)
class QuestionDates:
    """Months and years a question names, to prefer articles from that time, and whether it asks about now."""

    months: frozenset[int] = frozenset()
    years: frozenset[int] = frozenset()
    # The question asks how things stand now (or what happened last), not about a moment it names.
    latest: bool = False
    # Which meeting of the series it asks about, by number ("the third round").
    meetings: frozenset[int] = frozenset()

    @classmethod
    def parse(cls, question: str) -> QuestionDates:
        """Find month names, four-digit years and words asking for the latest state in a question."""
        lowered = question.casefold()
        months = months_named(lowered)
        years = frozenset(int(y) for y in _YEAR.findall(lowered))
        meetings = meeting_ordinals(lowered)
        latest = not (months or years or meetings) and bool(_LATEST.search(lowered))
        return cls(months, years, latest, meetings)

    def agreement(self, published: dt.date | None) -> float:
        """+1 when the article's date fits what the question names, -1 when it contradicts it, else 0."""
        if published is None or not (self.months or self.years):
            return 0.0
        if self.years and published.year not in self.years:
            return -1.0
        if self.months:
            return 1.0 if published.month in self.months else -1.0
        return 1.0

    def meeting_agreement(self, title: str) -> float:
        """+1 when an article's title names the meeting the question asks about, -1 another one, else 0.

        A title says what the article is about ("Third round of Istanbul talks ends ..."); its body may
        mention other rounds in passing ("no date was set for a third round").
        """
        named = meeting_ordinals(title) if self.meetings else frozenset()
        if not named:
            return 0.0
        return 1.0 if named & self.meetings else -1.0


# What kind of answer a question asks for, and what a sentence carrying it looks like. A sentence
# of the right shape ("forty minutes" for "how long") is a little more likely to be the answer.
_NUMBER_WORDS = (
    r"(?:\d[\d,.]*|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|thirty|forty"
    r"|fifty|hundred|thousand|million|dozens?|several)"
)
_MONTH_NAMES = (
    r"(?:January|February|March|April|May|June|July|August|September|October|November|December"
    r"|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)"
)
_DAY_NAMES = r"(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)"

AnswerType = str
_ANSWER_SHAPES: dict[AnswerType, re.Pattern[str]] = {
    "duration": re.compile(
        rf"\b(?:{_NUMBER_WORDS}|an?|half an?)[ -](?:minutes?|hours?|days?|weeks?|months?|years?)\b", re.IGNORECASE
    ),
    "number": re.compile(rf"\b{_NUMBER_WORDS}\b", re.IGNORECASE),
    "date": re.compile(
        rf"\b(?:{_MONTH_NAMES}\b|{_DAY_NAMES}|(?:19|20)\d\d\b|yesterday|today|tomorrow|(?:last|next|this) "
        r"(?:week|month|year)|(?:a|one|two|three|\d+) (?:days?|weeks?|months?|years?) "
        r"(?:ago|after|before|later|earlier))"
    ),
    "place": re.compile(r"\b(?:in|at) (?:the )?[A-Z][a-z]+"),
    "person": re.compile(r"\b[A-Z][a-z]+ [A-Z][a-z]+\b"),
}
_QUESTION_TYPES: tuple[tuple[AnswerType, re.Pattern[str]], ...] = (
    ("duration", re.compile(r"\bhow (?:long|much time)\b")),
    ("number", re.compile(r"\bhow (?:many|much)\b|\bnumber of\b")),
    ("date", re.compile(r"\bwhen\b|\bwhat (?:day|date|month|year|time)\b")),
    ("place", re.compile(r"\bwhere\b|\bwhich (?:city|country|building|venue|palace|place)\b")),
    ("person", re.compile(r"\bwho(?:'s|s|m|se)?\b")),
)


def answer_type(question: str) -> AnswerType | None:
    """The kind of answer a question asks for (duration, number, date, place, person), if it says."""
    lowered = question.casefold()
    return next((kind for kind, pattern in _QUESTION_TYPES if pattern.search(lowered)), None)


@functools.lru_cache(maxsize=8192)
def shows_answer_type(kind: AnswerType, sentence: str) -> bool:
    """True when a sentence contains something of that kind (a number, a date, a name, ...).

    Remembered: every question of a kind asks it of the same candidate sentences again.
    """
    return bool(_ANSWER_SHAPES[kind].search(sentence))
