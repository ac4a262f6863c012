"""Measuring answer quality on an evaluation set (tests/eval/questions.yaml).

For each corpus the set names, the articles are copied into a scratch folder, indexed with
the engine's own code, and every question of that corpus is asked. A returned passage is
correct when it comes from a listed document and its span overlaps the listed snippet.

Metrics, per corpus:
- accuracy@1: answerable questions whose answer (the best hit) is correct;
- recall@3 / MRR@5: over the best hit and the alternatives, as the user sees them;
- no-answer accuracy: unanswerable questions answered "nothing relevant";
- highlight: correct best hits whose highlighted sentence contains (overlaps) the expected snippet;
- verbatim: hits whose quote is exactly the file's text at the hit's offsets;
- attributed: hits whose title and source are present and match the file's front matter.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .documents import ARTICLE_SUFFIXES, read_article
from .embedder import Embedder
from .engine import Engine
from .errors import TalksbotError
from .models import Answer, Hit
from .search import SearchConfig

__all__ = [
    "BASELINE",
    "FEATURES_OFF",
    "Calibration",
    "CorpusResult",
    "EvalQuestion",
    "EvalSet",
    "QuestionResult",
    "ThresholdFigures",
    "Variant",
    "calibrate",
    "check_calibratable",
    "evaluate",
    "load_eval_set",
    "without_threshold",
]


class EvalSetError(TalksbotError):
    """The evaluation file cannot be used as it is."""


@dataclass(frozen=True, slots=True)
class Expected:
    """One accepted answer: a document and a verbatim snippet inside the answering paragraph."""

    doc: str
    contains: str


@dataclass(frozen=True, slots=True)
class EvalQuestion:
    """A question, the corpus it is asked of, and its accepted answers (none: nothing relevant)."""

    id: str
    corpus: str
    q: str
    answers: tuple[Expected, ...]


@dataclass(frozen=True, slots=True)
class EvalSet:
    """Corpora (name -> folders) and questions."""

    corpora: dict[str, tuple[Path, ...]]
    questions: tuple[EvalQuestion, ...]


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

    @property
    def answerable(self) -> bool:
        """True when the set lists answers for this question."""
        return bool(self.question.answers)

    @property
    def passed(self) -> bool:
        """Correct at rank 1, or rightly 'nothing relevant'."""
        return self.rank == 1 if self.answerable else self.answer.hit is None


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
            "highlight": round(self.highlight_accuracy, 4),
            "verbatim": round(self.verbatim_share, 4),
            "attributed": round(self.attributed_share, 4),
            "seconds": round(self.seconds, 2),
        }


def load_eval_set(path: Path | str, root: Path | str | None = None) -> EvalSet:
    """Read and check an evaluation YAML; folders are relative to ``root`` (default: the repo of the file)."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise EvalSetError(f"Cannot read the evaluation set {path}: {err.strerror or err}.") from None
    except yaml.YAMLError as err:
        raise EvalSetError(f"The evaluation set {path} is not valid YAML: {str(err).splitlines()[0]}.") from None
    if not isinstance(data, dict) or "questions" not in data or "corpora" not in data:
        raise EvalSetError(f"The evaluation set {path} needs 'corpora' and 'questions' (see tests/eval/README.md).")
    base = Path(root) if root is not None else _repo_root(path)
    corpora = {str(name): tuple(base / str(folder) for folder in folders) for name, folders in data["corpora"].items()}
    questions = []
    for item in data["questions"]:
        try:
            answers = tuple(Expected(str(a["doc"]), str(a["contains"])) for a in item.get("answers") or [])
            q = EvalQuestion(str(item["id"]), str(item["corpus"]), str(item["q"]), answers)
        except (KeyError, TypeError) as err:
            raise EvalSetError(f"{path}: a question lacks {err} (see tests/eval/README.md).") from None
        if q.corpus not in corpora:
            raise EvalSetError(f"{path}: question {q.id} names an unknown corpus {q.corpus!r}.")
        questions.append(q)
    return EvalSet(corpora=corpora, questions=tuple(questions))


def _repo_root(path: Path) -> Path:
    """The nearest folder above ``path`` holding pyproject.toml, else the current folder."""
    for parent in path.resolve().parents:
        if (parent / "pyproject.toml").is_file():
            return parent
    return Path.cwd()


def evaluate(
    eval_set: EvalSet,
    embedder: Embedder,
    *,
    variant: Variant | None = None,
    corpora: Iterable[str] | None = None,
    on_corpus: Callable[[str], None] | None = None,
) -> list[CorpusResult]:
    """Index each corpus in a scratch folder and ask it its questions."""
    variant = variant or Variant(name="talksbot")
    wanted = list(corpora) if corpora else list(eval_set.corpora)
    out = []
    for name in wanted:
        if name not in eval_set.corpora:
            raise EvalSetError(f"No corpus named {name!r} in the evaluation set.")
        if on_corpus:
            on_corpus(name)
        out.append(_evaluate_corpus(eval_set, name, embedder, variant))
    return out


def _evaluate_corpus(eval_set: EvalSet, name: str, embedder: Embedder, variant: Variant) -> CorpusResult:
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


# ----------------------------------------------------------------------------- threshold calibration


@dataclass(frozen=True, slots=True)
class ThresholdFigures:
    """acc@1 and no-answer accuracy at one threshold: over all corpora, and per corpus."""

    min_score: float
    accuracy_at_1: float
    no_answer_accuracy: float
    per_corpus: dict[str, tuple[float, float]]

    @property
    def worse(self) -> float:
        """The worse of the two: what calibration maximises."""
        return min(self.accuracy_at_1, self.no_answer_accuracy)


@dataclass(frozen=True, slots=True)
class Calibration:
    """The threshold now, the one suggested, and how many questions the suggestion was fit on."""

    current: ThresholdFigures
    suggested: ThresholdFigures
    answerable: int
    unanswerable: int

    def to_json(self) -> dict[str, object]:
        """JSON-ready figures."""

        def figures(f: ThresholdFigures) -> dict[str, object]:
            return {
                "min_score": round(f.min_score, 4),
                "accuracy_at_1": round(f.accuracy_at_1, 4),
                "no_answer_accuracy": round(f.no_answer_accuracy, 4),
                "per_corpus": {
                    name: {"accuracy_at_1": round(a, 4), "no_answer_accuracy": round(n, 4)}
                    for name, (a, n) in f.per_corpus.items()
                },
            }

        return {
            "current": figures(self.current),
            "suggested": figures(self.suggested),
            "answerable": self.answerable,
            "unanswerable": self.unanswerable,
        }


def check_calibratable(eval_set: EvalSet, corpora: Iterable[str] | None = None) -> None:
    """Raise EvalSetError before any work when these corpora's questions cannot calibrate a threshold."""
    wanted = set(corpora) if corpora else set(eval_set.corpora)
    questions = [q for q in eval_set.questions if q.corpus in wanted]
    answerable = sum(1 for q in questions if q.answers)
    _require_both_kinds(answerable, len(questions) - answerable)


def _require_both_kinds(answerable: int, unanswerable: int) -> None:
    if not answerable or not unanswerable:
        raise EvalSetError(
            "Calibrating the threshold needs both answerable questions and questions whose answer is "
            f"'nothing relevant'; this set has {answerable} and {unanswerable}."
        )


def without_threshold(variant: Variant) -> Variant:
    """The variant with its relevance threshold off: every question gets its best passage and score."""
    return dataclasses.replace(
        variant, name=f"{variant.name}, no threshold", search=variant.search.with_min_score(-math.inf)
    )


def calibrate(results: list[CorpusResult], current: float) -> Calibration:
    """The relevance threshold that maximises the worse of acc@1 and no-answer accuracy.

    ``results`` must come from a run without a threshold (``without_threshold``): then each
    question's best passage and its score are known, and any threshold can be tried after the fact.
    Candidates lie halfway between neighbouring scores; among equally good ones the middle one is
    taken, the farthest from the questions on either side.
    """
    scored = [(r, result.corpus) for result in results for r in result.results]
    answerable = sum(1 for r, _ in scored if r.answerable)
    unanswerable = len(scored) - answerable
    _require_both_kinds(answerable, unanswerable)
    scores = sorted({_relevance(r) for r, _ in scored})
    candidates = [scores[0] - 0.01, *((a + b) / 2 for a, b in itertools.pairwise(scores)), scores[-1] + 0.01]
    figures = [_figures_at(t, scored) for t in candidates]
    best = max((f.worse, f.accuracy_at_1 + f.no_answer_accuracy) for f in figures)
    tied = [f for f in figures if (f.worse, f.accuracy_at_1 + f.no_answer_accuracy) == best]
    return Calibration(
        current=_figures_at(current, scored),
        suggested=tied[len(tied) // 2],
        answerable=answerable,
        unanswerable=unanswerable,
    )


def _figures_at(threshold: float, scored: list[tuple[QuestionResult, str]]) -> ThresholdFigures:
    """acc@1 and no-answer accuracy had the threshold been ``threshold``."""

    def shares(rows: list[QuestionResult]) -> tuple[float, float]:
        ans = [r for r in rows if r.answerable]
        una = [r for r in rows if not r.answerable]
        acc = sum(r.rank == 1 and _relevance(r) >= threshold for r in ans) / len(ans) if ans else 1.0
        none = sum(_relevance(r) < threshold for r in una) / len(una) if una else 1.0
        return acc, none

    corpora = dict.fromkeys(name for _, name in scored)
    acc, none = shares([r for r, _ in scored])
    per_corpus = {name: shares([r for r, c in scored if c == name]) for name in corpora}
    return ThresholdFigures(min_score=threshold, accuracy_at_1=acc, no_answer_accuracy=none, per_corpus=per_corpus)


def _relevance(result: QuestionResult) -> float:
    """The score the threshold is compared with; -inf when there was nothing to score at all."""
    return -math.inf if result.answer.relevance is None else result.answer.relevance
