"""The evaluation set: corpora and questions read from YAML (tests/eval/questions.yaml), checked."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from ..errors import TalksbotError

__all__ = ["EvalQuestion", "EvalSet", "EvalSetError", "Expected", "load_eval_set"]


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
    # Unanswerable and off the corpus's subject altogether: "nothing relevant" is the only right reply
    # (a near-topic one may fairly get a hedged, low-confidence answer).
    off_topic: bool = False


@dataclass(frozen=True, slots=True)
class EvalSet:
    """Corpora (name -> folders) and questions."""

    corpora: dict[str, tuple[Path, ...]]
    questions: tuple[EvalQuestion, ...]


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
            off_topic = item.get("off_topic") is True
            q = EvalQuestion(str(item["id"]), str(item["corpus"]), str(item["q"]), answers, off_topic)
        except (KeyError, TypeError, AttributeError) as err:
            raise EvalSetError(f"{path}: a question lacks {err} (see tests/eval/README.md).") from None
        if item.get("off_topic", False) not in (True, False) or (q.off_topic and q.answers):
            raise EvalSetError(f"{path}: question {q.id}: off_topic is true or false, and only for unanswerable ones.")
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
