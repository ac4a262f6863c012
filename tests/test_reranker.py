"""RERANK_MODEL: a second stage loaded offline from a folder, its scores in the answers, its errors as sentences.

No cross-encoder can be downloaded here, so the tests build tiny ones (a two-layer BERT with random
weights and a word-piece vocabulary written from the seed articles) and save them like any model:
the loading code and the scoring path are the real ones, only the weights are not trained.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from index import load_reranker
from index.errors import RerankerError
from index.reranker import BiEncoderReranker, CrossEncoderReranker
from tests.conftest import DOCUMENTS, REUTERS
from tests.test_cli import assert_no_traceback, run

# No question words asking for a date, a number, a place or a person, no month, no round, more than
# two content words: no bonus is added, so with RERANK_WEIGHT=1 a score is the cross-encoder's alone.
PLAIN_QUESTION = "Describe the disagreement between Kyiv and Moscow over territorial terms"


def _vocabulary(folder: Path) -> Path:
    words = sorted({w for f in DOCUMENTS.glob("*.md") for w in re.findall(r"[a-z]+", f.read_text().lower())})
    path = folder / "vocab.txt"
    path.write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *words]) + "\n", encoding="utf-8")
    return path


def _tiny_bert_config(vocab: Path, **extra: object):  # type: ignore[no-untyped-def]
    from transformers import BertConfig

    size = len(vocab.read_text(encoding="utf-8").split())
    # Weights drawn wider than BERT's 0.02, so that different passages get visibly different scores.
    return BertConfig(
        vocab_size=size,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=512,
        initializer_range=0.5,
        **extra,
    )


@pytest.fixture(scope="session")
def tiny_cross_encoder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding a tiny BERT sequence classifier with one label and its tokenizer."""
    import torch
    from transformers import BertForSequenceClassification, BertTokenizerFast

    folder = tmp_path_factory.mktemp("tiny-cross-encoder")
    vocab = _vocabulary(folder)
    torch.manual_seed(13)
    BertForSequenceClassification(_tiny_bert_config(vocab, num_labels=1)).save_pretrained(folder)
    BertTokenizerFast(vocab_file=str(vocab), do_lower_case=True).save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_bi_encoder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding a tiny sentence-transformers bi-encoder (BERT + mean pooling)."""
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Pooling, Transformer
    from transformers import BertModel, BertTokenizerFast

    bert = tmp_path_factory.mktemp("tiny-bert")
    vocab = _vocabulary(bert)
    torch.manual_seed(13)
    BertModel(_tiny_bert_config(vocab)).save_pretrained(bert)
    BertTokenizerFast(vocab_file=str(vocab), do_lower_case=True).save_pretrained(bert)
    word = Transformer(str(bert))
    folder = tmp_path_factory.mktemp("tiny-bi-encoder")
    SentenceTransformer(modules=[word, Pooling(word.get_embedding_dimension())]).save(str(folder))
    return folder


def _cross_encoder_scores(folder: Path, question: str, passages: list[str]) -> np.ndarray:
    """The same model's scores, computed here with sentence-transformers directly."""
    from sentence_transformers import CrossEncoder

    return np.asarray(CrossEncoder(str(folder), device="cpu").predict([(question, p) for p in passages]))


def test_a_cross_encoder_folder_loads_as_one_and_scores_each_passage(tiny_cross_encoder):
    """load_reranker picks the CrossEncoder for a classifier folder; one probability per passage, as the model says."""
    reranker = load_reranker(str(tiny_cross_encoder))
    assert isinstance(reranker, CrossEncoderReranker) and reranker.default_weight == 1.0
    passages = ["Russia demanded a withdrawal.", "Kyiv's allies pressed Trump.", "Peskov declined to comment."]
    scores = reranker.score("what did russia demand", passages)
    assert scores.shape == (3,) and ((scores > 0) & (scores < 1)).all() and len(set(scores.round(6))) > 1
    expected = _cross_encoder_scores(tiny_cross_encoder, "what did russia demand", passages)
    assert np.allclose(scores, expected, atol=1e-6)


def test_a_sentence_transformers_folder_loads_as_a_bi_encoder_scoring_by_cosine(tiny_bi_encoder):
    """A folder with modules.json and pooling is another embedding model: its cosine, a quarter-weight ensemble."""
    reranker = load_reranker(str(tiny_bi_encoder))
    assert isinstance(reranker, BiEncoderReranker) and reranker.default_weight == 0.25
    scores = reranker.score("what did russia demand", ["Russia demanded a withdrawal.", "Peskov declined."])
    assert scores.shape == (2,) and (np.abs(scores) <= 1.0 + 1e-5).all()


@pytest.fixture
def one_article(tmp_path: Path) -> Path:
    """A working folder with the Reuters article alone: no copy to quote instead of the passage scored."""
    (tmp_path / "documents").mkdir()
    shutil.copy(DOCUMENTS / REUTERS, tmp_path / "documents" / REUTERS)
    return tmp_path


def _ask(folder: Path, question: str, **env: str) -> list[dict]:
    proc = run("ask", "--json", "--alternatives", "3", question, cwd=folder, env={"MIN_SCORE": "0", **env})
    assert proc.returncode == 0, proc.stderr
    answer = json.loads(proc.stdout)
    return [answer["answer"], *answer["alternatives"]]


def test_with_a_pure_second_stage_the_answers_carry_the_cross_encoders_scores(one_article, tiny_cross_encoder):
    """RERANK_WEIGHT=1: each shown passage's relevance is what the cross-encoder says of it, in its order."""
    hits = _ask(one_article, PLAIN_QUESTION, RERANK_MODEL=str(tiny_cross_encoder), RERANK_WEIGHT="1")
    expected = _cross_encoder_scores(tiny_cross_encoder, PLAIN_QUESTION, [h["quote"] for h in hits])
    assert [h["score"] for h in hits] == [round(float(s), 4) for s in expected]
    assert [h["score"] for h in hits] == sorted((h["score"] for h in hits), reverse=True)
    assert _ask(one_article, PLAIN_QUESTION)[0]["score"] != hits[0]["score"]


def test_the_second_stage_keeps_what_the_wording_says_and_weight_zero_changes_nothing(one_article, tiny_cross_encoder):
    """The re-ranker replaces similarity only: a month and year named in the question still add their 0.05."""
    question = "What did Russia demand in May 2025?"  # the article is dated 2025-05-17: +0.05 for every passage
    hits = _ask(one_article, question, RERANK_MODEL=str(tiny_cross_encoder), RERANK_WEIGHT="1")
    expected = _cross_encoder_scores(tiny_cross_encoder, question, [h["quote"] for h in hits])
    assert [h["score"] for h in hits] == pytest.approx([float(s) + 0.05 for s in expected], abs=2e-4)
    unweighted = _ask(one_article, question, RERANK_MODEL=str(tiny_cross_encoder), RERANK_WEIGHT="0")
    assert unweighted == _ask(one_article, question)


def test_a_missing_rerank_model_is_one_sentence_and_the_index_survives(tmp_path):
    """RERANK_MODEL naming nothing usable: exit 1, one line naming it, no traceback; without it all still works."""
    shutil.copytree(DOCUMENTS, tmp_path / "documents")
    assert run("index", cwd=tmp_path).returncode == 0
    proc = run("ask", "What did Russia demand?", cwd=tmp_path, env={"RERANK_MODEL": str(tmp_path / "no-such-model")})
    assert proc.returncode == 1 and proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Cannot load the re-ranking model" in lines[0] and "RERANK_MODEL" in lines[0]
    assert_no_traceback(proc)
    assert json.loads(run("ask", "--json", "What did Russia demand?", cwd=tmp_path).stdout)["answer"] is not None


def test_loading_failure_is_a_named_error_with_a_sentence(tmp_path):
    """A folder that is no model at all: RerankerError, whose message says what RERANK_MODEL must be."""
    (tmp_path / "config.json").write_text("{}", encoding="utf-8")
    with pytest.raises(RerankerError, match="must name a sentence-transformers cross-encoder"):
        load_reranker(str(tmp_path)).score("q", ["p"])


def test_eval_calibrate_runs_with_the_second_stage_and_records_it(tmp_path, tiny_cross_encoder):
    """`talksbot eval --calibrate` measures the pipeline with RERANK_MODEL and says which model it measured."""
    questions = tmp_path / "questions.yaml"
    questions.write_text(
        f"corpora:\n  seed: [{DOCUMENTS}]\nquestions:\n"
        "  - id: a\n    corpus: seed\n    q: Does Moscow insist that Kyiv stay neutral?\n"
        f"    answers:\n      - doc: {REUTERS}\n        contains: Ukraine becomes a neutral state\n"
        "  - id: b\n    corpus: seed\n    off_topic: true\n"
        "    q: What is a good recipe for apple pie?\n    answers: []\n",
        encoding="utf-8",
    )
    env = {"RERANK_MODEL": str(tiny_cross_encoder)}
    proc = run("eval", "--calibrate", "--json", str(questions), cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["rerank_model"] == str(tiny_cross_encoder) and report["calibration"]["answerable"] == 1
    suggested = report["calibration"]["suggested"]
    assert {"min_score", "confident_score", "high_right", "unanswerable_high"} <= set(suggested)
    text = run("eval", str(questions), cwd=tmp_path, env=env).stdout
    assert f"re-ranked by {tiny_cross_encoder}" in text


def test_a_model_name_that_is_not_cached_fails_at_once_without_downloading():
    """A hub name absent from the local cache: RerankerError straight away (offline), never a download."""
    with pytest.raises(RerankerError, match="Cannot load the re-ranking model 'cross-encoder/not-cached-here'"):
        load_reranker("cross-encoder/not-cached-here").score("q", ["p"])
