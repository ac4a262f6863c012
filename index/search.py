"""From a question to an Answer: hybrid retrieval, a relevance threshold, the best sentence, corroboration.

1. The question is cleaned (zero-width and control characters out) and checked.
2. Candidates come from dense search (FAISS, cosine) and lexical search (SQLite FTS5, bm25).
3. Each candidate is scored from its exact cosine, its best sentence's cosine and its bm25.
4. Below ``min_score`` nothing is relevant: the answer says so and names the closest articles.
5. Near-duplicate passages from other articles become "also reported by", never alternatives.
6. When two passages are about equally relevant, the newer article wins.
7. A question about how things stand now ("yet", "still", "latest") counts older articles less.
8. A question naming a meeting by number ("the third round") prefers the article whose title names it.
9. A question that only names something ("whos medinsky") counts passages naming it as more relevant.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from dataclasses import dataclass

import numpy as np

from .embedder import Embedder
from .models import Answer, DocumentInfo, Hit
from .questions import (
    MAX_QUESTION_CHARS,
    AnswerType,
    QuestionDates,
    answer_type,
    clean_question,
    content_words,
    lexical_query,
    shows_answer_type,
    subject_terms,
)
from .store.contract import PassageIndex, StoredPassage

__all__ = [
    "DEFAULT_MIN_SCORE",
    "MAX_QUESTION_CHARS",
    "SearchConfig",
    "Searcher",
    "clean_question",
    "lexical_query",
]

_WORD = re.compile(r"\w+")
DEFAULT_MIN_SCORE = 0.50
# Alternatives may be a little less relevant than an answer would have to be.
ALTERNATIVE_MARGIN = 0.05


@dataclass(frozen=True, slots=True)
class SearchConfig:
    """Knobs of the answer pipeline; defaults are measured on tests/eval (bench/eval_ablation.py)."""

    # Calibrated on tests/eval for the bundled model: below it, "nothing relevant" (README, Answer
    # quality). Another model scores on another scale: `talksbot eval --calibrate` suggests its own.
    min_score: float = DEFAULT_MIN_SCORE
    alternative_min_score: float = DEFAULT_MIN_SCORE - ALTERNATIVE_MARGIN
    dense_candidates: int = 30
    lexical_candidates: int = 30
    alternatives: int = 3
    # Cosine between two passages above which one repeats the other (a rewrite, a reprint) ...
    duplicate_similarity: float = 0.80
    # ... or between the answering sentence and a sentence elsewhere: the same fact in other words.
    fact_similarity: float = 0.70
    # Scores this close are equally relevant: the newer article wins. Kept tiny on purpose: a wider
    # margin overrules relevance and cost 4 points of accuracy@1 on the evaluation set.
    tie_margin: float = 0.005
    # Between passages carrying the same fact a wider margin: then provenance is all that differs.
    duplicate_tie_margin: float = 0.06
    # Weights of the passage's cosine and its best sentence's cosine (chosen by cross-validation).
    passage_weight: float = 0.40
    sentence_weight: float = 0.60
    # bm25 relative to the best lexical match: a nudge between close passages, never relevance alone.
    lexical_weight: float = 0.05
    # A month or year named in the question that matches (or contradicts) the article's date.
    date_weight: float = 0.05
    # The best sentence has the shape the question asks for (a number for "how many", ...).
    answer_type_weight: float = 0.08
    # The question names a meeting by number ("the third round") and the article's title names the
    # same one (or another). Weightier than a month: an explicit, usually decisive statement.
    meeting_weight: float = 0.08
    # A question that names at most two things once its asking words are gone ("whos medinsky",
    # "peskov?", "tell me about witkoff"): MiniLM scores such short questions low, and a passage that
    # names them all is better evidence than its cosine says. Nothing in the articles names them: no lift.
    subject_weight: float = 0.05
    subject_max_terms: int = 2
    # A question about how things stand now ("yet", "latest", "still"): older reporting answers it
    # less well, down to -2x this for the oldest dated article; the newest loses nothing. Never a
    # bonus, so no question gets past the threshold by asking about "now".
    recency_weight: float = 0.05
    hybrid: bool = True
    sentence_scoring: bool = True
    date_matching: bool = True
    answer_typing: bool = True
    recency: bool = True
    meeting_matching: bool = True
    subject_lookup: bool = True
    max_question_chars: int = MAX_QUESTION_CHARS

    def with_min_score(self, min_score: float | None) -> SearchConfig:
        """This config with another relevance threshold (alternatives keep their margin below it)."""
        if min_score is None:
            return self
        return dataclasses.replace(self, min_score=min_score, alternative_min_score=min_score - ALTERNATIVE_MARGIN)


@dataclass(frozen=True, slots=True)
class _Cues:
    """A question's dates, the kind of answer it asks for, and what it names when it is short."""

    dates: QuestionDates
    kind: AnswerType | None
    naming: tuple[re.Pattern[str], ...]


@dataclass(slots=True)
class _Candidate:
    passage: StoredPassage
    dense: float
    sentence_scores: np.ndarray
    lexical: float = 0.0
    score: float = 0.0
    best_sentence: int = 0


class Searcher:
    """Answers questions from one index snapshot with one embedder; safe to call from many threads."""

    def __init__(self, snapshot: PassageIndex, embedder: Embedder, config: SearchConfig | None = None) -> None:
        self.snapshot = snapshot
        self.embedder = embedder
        self.config = config or SearchConfig()
        dated = [d.published.toordinal() for d in snapshot.documents.values() if d.published]
        self._date_span = (min(dated), max(dated)) if dated else None

    def answer(
        self,
        question: str,
        *,
        since: dt.date | None = None,
        alternatives: int | None = None,
    ) -> Answer:
        """The most relevant passage for a question, alternatives, or nothing relevant."""
        cfg = self.config
        text = clean_question(question, max_chars=cfg.max_question_chars)
        wanted = cfg.alternatives if alternatives is None else alternatives
        query = self.embedder.embed_queries([text])[0]
        candidates = self._candidates(text, query, since)
        if not candidates:
            return Answer(question=question, hit=None)
        ranked = sorted(candidates, key=lambda c: c.score, reverse=True)
        best = self._prefer_newer(ranked)
        if best.score < cfg.min_score:
            return Answer(question=question, hit=None, closest=_distinct_documents(ranked, 3), relevance=best.score)
        ranked.remove(best)
        ranked.insert(0, best)
        hits = self._group(text, ranked, wanted)
        return Answer(question=question, hit=hits[0], alternatives=tuple(hits[1:]), relevance=best.score)

    # ----- retrieval and scoring

    def _candidates(self, text: str, query: np.ndarray, since: dt.date | None) -> list[_Candidate]:
        """Union of dense and lexical candidates, each scored from its stored vectors."""
        cfg = self.config
        widen = 4 if since else 1
        if cfg.hybrid:
            k_dense, k_lexical = cfg.dense_candidates * widen, cfg.lexical_candidates * widen
            dense, lexical = self.snapshot.hybrid_search(query, k_dense, lexical_query(text), k_lexical)
        else:
            dense, lexical = self.snapshot.dense_search(query, cfg.dense_candidates * widen), []
        ids = [pid for pid, _ in dense] + [pid for pid, _ in lexical]
        passages = self.snapshot.fetch(ids)
        if since is not None:
            passages = {pid: p for pid, p in passages.items() if p.document.published and p.document.published >= since}
        bm25 = dict(lexical)
        top_bm25 = max(bm25.values(), default=0.0)
        cues = self._cues(text)
        out = []
        for pid, passage in passages.items():
            dense_score = float(passage.embedding @ query)
            sentence_scores = passage.sentence_embeddings @ query
            cand = _Candidate(passage, dense_score, sentence_scores)
            if pid in bm25 and top_bm25 > 0:
                cand.lexical = bm25[pid] / top_bm25
            cand.score = self._score(cand, cues)
            out.append(cand)
        return out

    def _cues(self, text: str) -> _Cues:
        """What the question says beyond its vector, read once per question."""
        cfg = self.config
        subject = subject_terms(text) if cfg.subject_lookup else ()
        if len(subject) > cfg.subject_max_terms:
            subject = ()
        return _Cues(
            dates=QuestionDates.parse(text),
            kind=answer_type(text) if cfg.answer_typing else None,
            naming=tuple(re.compile(rf"\b{re.escape(term)}", re.IGNORECASE) for term in subject),
        )

    def _score(self, cand: _Candidate, cues: _Cues) -> float:
        """Blend passage and best-sentence cosine with relative bm25 and what the question's wording says."""
        cfg = self.config
        dates, kind = cues.dates, cues.kind
        score = cand.dense
        if cfg.sentence_scoring and len(cand.sentence_scores):
            best = float(cand.sentence_scores.max())
            if cand.passage.has_lead_in:
                # A list item's sentence vectors pool only the item's own tokens, leaving out the
                # lead-in that gives them their meaning; the passage vector includes it.
                best = max(best, cand.dense)
            score = cfg.passage_weight * cand.dense + cfg.sentence_weight * best
        if cfg.hybrid:
            score += cfg.lexical_weight * cand.lexical
        if cfg.date_matching:
            score += cfg.date_weight * dates.agreement(cand.passage.document.published)
        if cfg.meeting_matching and dates.meetings:
            score += cfg.meeting_weight * dates.meeting_agreement(cand.passage.document.title)
        if cfg.recency and dates.latest:
            score += cfg.recency_weight * (self._age_position(cand.passage.document.published) - 1)
        if kind is not None and len(cand.sentence_scores):
            s, e = cand.passage.sentences[int(np.argmax(cand.sentence_scores))]
            if shows_answer_type(kind, cand.passage.text[s:e]):
                score += cfg.answer_type_weight
        if cues.naming and all(pattern.search(cand.passage.text) for pattern in cues.naming):
            score += cfg.subject_weight
        return score

    def _age_position(self, published: dt.date | None) -> float:
        """-1 for the oldest dated article in the index, +1 for the newest, 0 (the middle) when undated.

        With fewer than two dates in the index there is nothing to compare: +1 for every article.
        """
        if self._date_span is None or self._date_span[0] == self._date_span[1]:
            return 1.0
        if published is None:
            return 0.0
        low, high = self._date_span
        return 2 * (published.toordinal() - low) / (high - low) - 1

    def _prefer_newer(self, ranked: list[_Candidate]) -> _Candidate:
        """Among candidates about as relevant as the best, the newest article wins."""
        top = ranked[0].score
        tied = [c for c in ranked if c.score >= top - self.config.tie_margin]
        return max(tied, key=lambda c: (c.passage.document.published or dt.date.min, c.score))

    # ----- grouping into hits

    def _group(self, question: str, ranked: list[_Candidate], wanted: int) -> list[Hit]:
        """The best hit and alternatives; passages carrying the same fact fold into 'also reported by'."""
        cfg = self.config
        words = content_words(question)
        for cand in ranked:
            cand.best_sentence = _best_sentence_index(words, cand)
        groups: list[list[_Candidate]] = []
        for cand in ranked:
            owner = next((g for g in groups if self._same_fact(g[0], cand)), None)
            if owner is not None:
                owner.append(cand)  # credited even below the threshold: it was retrieved for this question
            elif len(groups) <= wanted and cand.score >= cfg.alternative_min_score:
                groups.append([cand])
        return [self._hit(*self._lead(group)) for group in groups]

    def _same_fact(self, lead: _Candidate, other: _Candidate) -> bool:
        """True when ``other`` repeats the lead's passage, or its answering sentence, in other words."""
        cfg = self.config
        if float(lead.passage.embedding @ other.passage.embedding) >= cfg.duplicate_similarity:
            return True
        sentence = lead.passage.sentence_embeddings[lead.best_sentence]
        return float((other.passage.sentence_embeddings @ sentence).max()) >= cfg.fact_similarity

    def _lead(self, group: list[_Candidate]) -> tuple[_Candidate, tuple[DocumentInfo, ...]]:
        """Which of the passages carrying one fact to quote: the newest article among the nearly best."""
        top = group[0].score
        close = [c for c in group if c.score >= top - self.config.duplicate_tie_margin]
        lead = max(close, key=lambda c: (c.passage.document.published or dt.date.min, c.score))
        others: dict[str, DocumentInfo] = {}
        for cand in group:
            doc = cand.passage.document
            if doc.id != lead.passage.document.id:
                others.setdefault(doc.id, doc)
        return lead, tuple(others.values())

    @staticmethod
    def _hit(cand: _Candidate, also: tuple[DocumentInfo, ...] = ()) -> Hit:
        """Build a Hit, highlighting the sentence that best answers the question."""
        p = cand.passage
        highlight = p.sentences[cand.best_sentence] if p.sentences else (0, len(p.text))
        return Hit(
            document=p.document,
            quote=p.text,
            start=p.start,
            end=p.end,
            score=cand.score,
            highlight=highlight,
            also_reported_by=also,
        )


# A short sentence's vector is mostly its one key word ("However, they concluded without a ceasefire
# agreement."), so its cosine overstates how much it answers: sentences get up to this much for length,
# in full from 20 words. Highlight accuracy on tests/eval rose with it up to 0.15 (extended 0.849 ->
# 0.909, seed unchanged at 0.925) and stayed there to 0.3; 0.2 is the middle of that plateau.
_LENGTH_WEIGHT = 0.2
_FULL_LENGTH_WORDS = 20


def _best_sentence_index(words: set[str], cand: _Candidate) -> int:
    """The sentence with the best cosine to the question, shared words and length breaking near-ties."""
    best, best_score = 0, -np.inf
    for i, ((s, e), cosine) in enumerate(zip(cand.passage.sentences, cand.sentence_scores, strict=False)):
        sentence = _WORD.findall(cand.passage.text[s:e].casefold())
        sentence_words = set(sentence)
        # Shared words weigh 0.2 (measured: 0.1 gave a 0.900 highlight accuracy on the seed set, 0.2 gave 0.925).
        score = float(cosine) + 0.2 * len(words & sentence_words) / max(1, len(words))
        score += _LENGTH_WEIGHT * min(1.0, len(sentence) / _FULL_LENGTH_WORDS)
        if score > best_score:
            best, best_score = i, score
    return best


def _distinct_documents(ranked: list[_Candidate], limit: int) -> tuple[DocumentInfo, ...]:
    """The first ``limit`` different articles in ranked order."""
    seen: dict[str, DocumentInfo] = {}
    for cand in ranked:
        seen.setdefault(cand.passage.document.id, cand.passage.document)
        if len(seen) == limit:
            break
    return tuple(seen.values())
