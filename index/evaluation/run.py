"""Running the evaluation: index each corpus in a scratch folder, ask its questions, judge and count.

A returned passage is correct when it comes from a listed document and its span overlaps the
listed snippet. ``CorpusResult`` turns the judgements into the metrics ``talksbot eval`` prints.
"""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ..documents import ARTICLE_SUFFIXES, read_article
from ..embedder import Embedder
from ..engine import Engine
from ..models import CONFIDENCE_HIGH, Answer, Hit
from ..provenance import is_attributed
from ..reranker import Reranker
from ..search import SearchConfig
from .eval_set import EvalQuestion, EvalSet, EvalSetError

__all__ = ["BASELINE", "FEATURES_OFF", "CorpusResult", "QuestionResult", "Variant", "evaluate"]


@dataclass(frozen=True, slots=True)
class Variant:
    """A configuration of the pipeline to measure (the default, or a baseline)."""

    name: str
    search: SearchConfig = field(default_factory=SearchConfig)
    passage_context: str = "lead-in"


# Every ranking feature off: dense search alone (the baseline, and bench/eval_ablation.py's first step).
FEATURES_OFF: dict[str, bool | float] = {
    "hybrid": False,
    "sentence_scoring": False,
    "date_matching": False,
    "answer_typing": False,
    "recency": False,
    "meeting_matching": False,
    "subject_lookup": False,
    "original_first": False,
    "tie_margin": 0.0,
}

BASELINE = Variant(
    name="baseline: dense search over plain paragraphs",
    search=SearchConfig(**FEATURES_OFF),  # type: ignore[arg-type]
    passage_context="none",
)


@dataclass(slots=True)
class QuestionResult:
    """How one question fared."""

    question: EvalQuestion
    answer: Answer
    rank: int | None  # 1-based rank of the first correct hit among those shown, None if none
    highlight_ok: bool | None  # for a correct best hit: does the bold sentence hold the answer?
    verbatim: bool
    attributed: bool
    # An accepted answer lies in an article that names its outlet: a right answer should come from one.
    attributed_answer_exists: bool = False

    @property
    def answerable(self) -> bool:
        """True when the set lists answers for this question."""
        return bool(self.question.answers)

    @property
    def passed(self) -> bool:
        """Correct at rank 1, or rightly 'nothing relevant'."""
        return self.rank == 1 if self.answerable else self.answer.hit is None

    @property
    def high_confidence(self) -> bool:
        """Answered with high confidence."""
        return self.answer.confidence == CONFIDENCE_HIGH


@dataclass(slots=True)
class CorpusResult:
    """Metrics for one corpus and one variant."""

    corpus: str
    variant: str
    results: list[QuestionResult]
    seconds: float = 0.0

    def _answerable(self) -> list[QuestionResult]:
        return [r for r in self.results if r.answerable]

    def _share(self, flags: Iterable[bool]) -> float:
        values = list(flags)
        return sum(values) / len(values) if values else 1.0

    @property
    def accuracy_at_1(self) -> float:
        """Share of answerable questions whose best hit is correct."""
        return self._share(r.rank == 1 for r in self._answerable())

    @property
    def recall_at_3(self) -> float:
        """Share of answerable questions with a correct hit among the first three shown."""
        return self._share(r.rank is not None and r.rank <= 3 for r in self._answerable())

    @property
    def mrr_at_5(self) -> float:
        """Mean reciprocal rank of the first correct hit within the first five shown."""
        ranks = [r.rank for r in self._answerable()]
        return sum(1 / k for k in ranks if k is not None and k <= 5) / len(ranks) if ranks else 1.0

    @property
    def highlight_accuracy(self) -> float:
        """Share of correct best hits whose highlighted sentence overlaps the expected snippet."""
        return self._share(bool(r.highlight_ok) for r in self._answerable() if r.highlight_ok is not None)

    @property
    def no_answer_accuracy(self) -> float:
        """Share of unanswerable questions answered 'nothing relevant'."""
        return self._share(r.answer.hit is None for r in self.results if not r.answerable)

    @property
    def verbatim_share(self) -> float:
        """Share of answers whose every quote is the file's exact text."""
        return self._share(r.verbatim for r in self.results if r.answer.hit is not None)

    @property
    def attributed_share(self) -> float:
        """Share of answers whose every hit carries the file's title and source."""
        return self._share(r.attributed for r in self.results if r.answer.hit is not None)

    @property
    def attributed_first(self) -> float:
        """Of the right answers to questions an attributed article also answers, the share quoted from one."""
        return self._share(
            r.answer.hit is not None and is_attributed(r.answer.hit.document)
            for r in self._answerable()
            if r.rank == 1 and r.attributed_answer_exists
        )

    @property
    def high_right(self) -> float:
        """Of the answers given with high confidence (to any question), the share that are right."""
        return self._share(r.rank == 1 and r.answerable for r in self.results if r.high_confidence)

    @property
    def high_answers(self) -> int:
        """How many questions were answered with high confidence."""
        return sum(r.high_confidence for r in self.results)

    @property
    def unanswerable_high(self) -> float:
        """Share of unanswerable questions answered with high confidence (the harm a hedge avoids)."""
        flags = [r.high_confidence for r in self.results if not r.answerable]
        return sum(flags) / len(flags) if flags else 0.0

    @property
    def off_topic_refused(self) -> float:
        """Share of off-topic questions answered 'nothing relevant'."""
        return self._share(r.answer.hit is None for r in self.results if r.question.off_topic)

    @property
    def misses(self) -> list[QuestionResult]:
        """Questions not answered right at rank 1 (or answered when they should not be)."""
        return [r for r in self.results if not r.passed]

    def metrics(self) -> dict[str, float | int | str]:
        """The figures as a JSON-ready dict."""
        return {
            "corpus": self.corpus,
            "variant": self.variant,
            "answerable": len(self._answerable()),
            "unanswerable": len(self.results) - len(self._answerable()),
            "accuracy_at_1": round(self.accuracy_at_1, 4),
            "recall_at_3": round(self.recall_at_3, 4),
            "mrr_at_5": round(self.mrr_at_5, 4),
            "no_answer_accuracy": round(self.no_answer_accuracy, 4),
            "off_topic_refused": round(self.off_topic_refused, 4),
            "high_answers": self.high_answers,
            "high_right": round(self.high_right, 4),
            "unanswerable_high": round(self.unanswerable_high, 4),
            "attributed_first": round(self.attributed_first, 4),
            "highlight": round(self.highlight_accuracy, 4),
            "verbatim": round(self.verbatim_share, 4),
            "attributed": round(self.attributed_share, 4),
            "seconds": round(self.seconds, 2),
        }


def evaluate(
    eval_set: EvalSet,
    embedder: Embedder,
    *,
    variant: Variant | None = None,
    corpora: Iterable[str] | None = None,
    on_corpus: Callable[[str], None] | None = None,
    reranker: Reranker | None = None,
) -> list[CorpusResult]:
    """Index each corpus in a scratch folder and ask it its questions (through the re-ranker, if given)."""
    variant = variant or Variant(name="talksbot")
    wanted = list(corpora) if corpora else list(eval_set.corpora)
    out = []
    for name in wanted:
        if name not in eval_set.corpora:
            raise EvalSetError(f"No corpus named {name!r} in the evaluation set.")
        if on_corpus:
            on_corpus(name)
        out.append(_evaluate_corpus(eval_set, name, embedder, variant, reranker))
    return out


def _evaluate_corpus(
    eval_set: EvalSet, name: str, embedder: Embedder, variant: Variant, reranker: Reranker | None
) -> CorpusResult:
    """Build the corpus's index and score its questions."""
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix=f"talksbot-eval-{name}-") as scratch:
        docs_dir = Path(scratch) / "documents"
        docs_dir.mkdir()
        sources = _gather(eval_set.corpora[name], docs_dir)
        engine = Engine(
            docs_dir,
            Path(scratch) / "index",
            embedder=embedder,
            search_config=variant.search,
            passage_context=variant.passage_context,
            reranker=reranker,
        )
        engine.reindex()
        bodies = {doc_id: engine.searcher().snapshot.document_body(doc_id) or "" for doc_id in sources}
        results = []
        for q in (q for q in eval_set.questions if q.corpus == name):
            answer = engine.answer(q.q, alternatives=4)
            results.append(_judge(q, answer, bodies, sources))
    return CorpusResult(corpus=name, variant=variant.name, results=results, seconds=time.perf_counter() - started)


def _gather(folders: tuple[Path, ...], target: Path) -> dict[str, Path]:
    """Copy a corpus's articles into one folder; return doc id -> original file."""
    sources: dict[str, Path] = {}
    for folder in folders:
        if not folder.is_dir():
            raise EvalSetError(f"Corpus folder {folder} does not exist.")
        for path in sorted(folder.iterdir()):
            if path.is_file() and path.suffix.lower() in ARTICLE_SUFFIXES and not path.name.startswith("."):
                if path.name in sources:
                    raise EvalSetError(f"Two corpus files are named {path.name}; names must be unique.")
                shutil.copyfile(path, target / path.name)
                sources[path.name] = path
    return sources


def _judge(q: EvalQuestion, answer: Answer, bodies: dict[str, str], sources: dict[str, Path]) -> QuestionResult:
    """Rank of the first correct hit; whether every hit is verbatim and properly attributed."""
    hits = [answer.hit, *answer.alternatives] if answer.hit else []
    rank = next((i for i, hit in enumerate(hits, 1) if _is_correct(hit, q, bodies)), None)
    highlight_ok = None
    if rank == 1 and answer.hit is not None:
        a, b = answer.hit.highlight
        highlight_ok = _is_correct(
            dataclasses.replace(answer.hit, start=answer.hit.start + a, end=answer.hit.start + b), q, bodies
        )
    return QuestionResult(
        question=q,
        answer=answer,
        rank=rank,
        highlight_ok=highlight_ok,
        verbatim=all(_is_verbatim(hit, sources) for hit in hits),
        attributed=all(_is_attributed(hit, sources) for hit in hits),
        attributed_answer_exists=any(
            e.doc in sources and is_attributed(read_article(sources[e.doc], doc_id=e.doc).info) for e in q.answers
        ),
    )


def _is_correct(hit: Hit, q: EvalQuestion, bodies: dict[str, str]) -> bool:
    """A hit is correct when it overlaps an accepted snippet of an accepted document."""
    for expected in q.answers:
        if hit.document.id != expected.doc:
            continue
        at = bodies.get(expected.doc, "").find(expected.contains)
        if at >= 0 and hit.start < at + len(expected.contains) and at < hit.end:
            return True
    return False


def _is_verbatim(hit: Hit, sources: dict[str, Path]) -> bool:
    """The quote is exactly the file's text at the hit's offsets (after the front matter)."""
    path = sources.get(hit.document.id)
    if path is None:
        return False
    doc = read_article(path, doc_id=hit.document.id)
    return doc.body[hit.start : hit.end] == hit.quote and hit.quote in path.read_text(encoding="utf-8")


def _is_attributed(hit: Hit, sources: dict[str, Path]) -> bool:
    """Title and source are present and are exactly what the file says (nothing invented)."""
    path = sources.get(hit.document.id)
    if path is None or not hit.document.title or not hit.document.source:
        return False
    info = read_article(path, doc_id=hit.document.id).info
    return dataclasses.replace(info, id=hit.document.id) == hit.document
