"""Questions encoded by the ONNX export made at index time: same vectors, same answers, no torch; a sound fallback."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from index.engine import Engine
from index.evaluation import load_eval_set
from index.query_encoder import ENCODER_DIR, META_FILE, MIN_COSINE, MODEL_FILE, ExportedQueries, QueryEncoder
from tests.conftest import DOCUMENTS, ROOT

QUESTIONS = [q.q for q in load_eval_set(ROOT / "tests" / "eval" / "questions.yaml").questions]
ASK = "What did Russia demand before agreeing to a ceasefire?"


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory, embedder) -> Path:
    """An index of the seed articles built with the real model, which exports its question encoder."""
    base = tmp_path_factory.mktemp("encoder")
    shutil.copytree(DOCUMENTS, base / "documents")
    Engine(base / "documents", base / "index", embedder=embedder).reindex()
    return base


def test_the_export_encodes_every_eval_question_as_sentence_transformers_does(exported, embedder):
    """Cosine >= 0.9999 between the export's vector and sentence-transformers' for each of the 121 questions."""
    encoder = QueryEncoder.open(exported / "index" / ENCODER_DIR, embedder.model_id)
    assert encoder is not None
    cosines = np.einsum("ij,ij->i", encoder.embed_queries(QUESTIONS), embedder.embed_queries(QUESTIONS))
    assert len(cosines) == len(QUESTIONS) and float(cosines.min()) >= MIN_COSINE


def test_answers_from_the_export_are_the_answers_of_the_model(exported, embedder, tmp_path):
    """Every eval question gets the same passages and scores (to 1e-5) whichever encodes it."""
    fast = Engine(exported / "documents", exported / "index", embedder=embedder)
    assert isinstance(fast.question_encoder, ExportedQueries)
    plain = tmp_path / "plain"
    shutil.copytree(exported / "index", plain)
    shutil.rmtree(plain / ENCODER_DIR)
    slow = Engine(exported / "documents", plain, embedder=embedder)
    slow.ensure_index()
    assert slow.question_encoder is embedder
    for question in QUESTIONS:
        a, b = fast.answer(question), slow.answer(question)
        hits_a = [(h.document.id, h.start, h.highlight) for h in ([a.hit] if a.hit else []) + list(a.alternatives)]
        hits_b = [(h.document.id, h.start, h.highlight) for h in ([b.hit] if b.hit else []) + list(b.alternatives)]
        assert hits_a == hits_b, question
        assert abs(a.relevance - b.relevance) < 1e-5 if a.relevance is not None else b.relevance is None


def _talksbot(*args: str, cwd: Path, code: str | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("DOCUMENTS_DIR", "INDEX_DIR", "DISCORD_TOKEN")}
    argv = [sys.executable, "-c", code, *args] if code else [str(Path(sys.executable).with_name("talksbot")), *args]
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, env=env, timeout=300)


# Runs the console script's entry point, then says whether torch was ever imported.
_ASK_AND_REPORT = (
    "import sys\nfrom bot.cli import main\ncode = main(sys.argv[1:])\n"
    "print('torch loaded:', 'torch' in sys.modules, file=sys.stderr)\nsys.exit(code)\n"
)


def test_a_terminal_ask_after_talksbot_index_never_imports_torch(tmp_path):
    """`talksbot index` then `talksbot ask`: the ask answers without importing torch, exactly as the model would."""
    shutil.copytree(DOCUMENTS, tmp_path / "documents")
    built = _talksbot("index", cwd=tmp_path)
    assert built.returncode == 0, built.stderr
    assert (tmp_path / ".talksbot" / "index" / ENCODER_DIR / MODEL_FILE).is_file()
    fast = _talksbot("--env-file", os.devnull, "ask", "--json", ASK, cwd=tmp_path, code=_ASK_AND_REPORT)
    assert fast.returncode == 0 and "torch loaded: False" in fast.stderr, fast.stderr
    shutil.rmtree(tmp_path / ".talksbot" / "index" / ENCODER_DIR)
    slow = _talksbot("--env-file", os.devnull, "ask", "--json", ASK, cwd=tmp_path, code=_ASK_AND_REPORT)
    assert slow.returncode == 0 and "torch loaded: True" in slow.stderr, slow.stderr
    assert json.loads(fast.stdout) == json.loads(slow.stdout)


def test_a_stale_export_is_not_used_and_the_next_reindex_replaces_it(exported, embedder, tmp_path):
    """An export recorded for another model is ignored (the model answers); the next reindex exports anew."""
    index = tmp_path / "index"
    shutil.copytree(exported / "index", index)
    meta = json.loads((index / ENCODER_DIR / META_FILE).read_text())
    (index / ENCODER_DIR / META_FILE).unlink()
    (index / ENCODER_DIR / META_FILE).write_text(json.dumps({**meta, "model_id": "another-model#123"}))
    engine = Engine(exported / "documents", index, embedder=embedder)
    engine.ensure_index()
    assert engine.question_encoder is embedder
    assert engine.answer(ASK).hit is not None
    engine.reindex()
    assert isinstance(engine.question_encoder, ExportedQueries)
    assert json.loads((index / ENCODER_DIR / META_FILE).read_text())["model_id"] == embedder.model_id


def test_a_damaged_export_falls_back_to_the_model_with_a_warning(exported, embedder, tmp_path, caplog):
    """model.onnx overwritten with garbage of the same size: a warning, no traceback, answers from the model."""
    index = tmp_path / "index"
    shutil.copytree(exported / "index", index)
    model = index / ENCODER_DIR / MODEL_FILE
    size = model.stat().st_size
    model.unlink()  # a new file, so the module's other copies (hard links) stay intact
    model.write_bytes(b"\x07" * size)
    engine = Engine(exported / "documents", index, embedder=embedder)
    answer = engine.answer(ASK)
    assert engine.question_encoder is embedder and answer.hit is not None
    assert "question encoder" in caplog.text and "cannot be used" in caplog.text
