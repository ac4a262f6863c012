"""Splitting bodies into passages: every span round-trips to the exact text; metadata is not an answer."""

from __future__ import annotations

import pytest

from index.documents import scan_documents
from index.passages import split_passages
from index.sentences import split_sentences
from tests.conftest import DOCUMENTS, REUTERS


def texts(body: str, **kwargs) -> list[str]:
    return [p.text for p in split_passages(body, **kwargs)]


def assert_round_trip(body: str, **kwargs) -> None:
    for p in split_passages(body, **kwargs):
        assert body[p.start : p.end] == p.text
        for s, e in p.sentences:
            assert 0 <= s < e <= len(p.text)


def test_every_seed_passage_is_the_exact_text_at_its_offsets():
    """Offsets round-trip: body[start:end] is the passage, sentence spans lie inside it."""
    for doc in scan_documents(DOCUMENTS).documents:
        passages = split_passages(doc.body, title=doc.info.title)
        assert passages
        assert_round_trip(doc.body, title=doc.info.title)


def test_byline_and_credit_line_are_metadata_not_passages():
    """'By Tom Balmforth' and '(Additional reporting by ...)' are never quoted as answers."""
    body = next(d.body for d in scan_documents(DOCUMENTS).documents if d.id == REUTERS)
    found = texts(body)
    assert not any(t.startswith("By Tom Balmforth") for t in found)
    assert not any("Additional reporting by" in t for t in found)
    assert any("Donetsk, Zaporizhzhia, Kherson and Luhansk" in t for t in found)


def test_dateline_and_list_markers_stay_outside_the_span():
    """'ISTANBUL (Reuters) -' and '* ' are not part of the quote; the quote is still verbatim."""
    body = "ISTANBUL (Reuters) -Negotiators met on Friday in the city.\n* The first demand was withdrawal of troops.\n"
    assert texts(body) == ["Negotiators met on Friday in the city.", "The first demand was withdrawal of troops."]


def test_blank_line_paragraphs_with_hard_wrapped_lines_stay_whole():
    """Markdown hard-wrapped at 40 columns is one paragraph per blank-line block, not one per line."""
    body = (
        "The delegations met at the palace and\nspoke for about an hour before they\nagreed on a new exchange.\n\n"
        "A second paragraph follows here and\nit also wraps across two lines.\n"
    )
    assert texts(body) == [
        "The delegations met at the palace and\nspoke for about an hour before they\nagreed on a new exchange.",
        "A second paragraph follows here and\nit also wraps across two lines.",
    ]
    assert_round_trip(body)


def test_one_paragraph_per_line_when_lines_end_sentences():
    """Wire copy with a paragraph per line (like the seeds) gives a passage per line."""
    body = "First paragraph ends here.\nSecond paragraph ends here.\nThird one too, it seems.\n"
    assert len(texts(body)) == 3


def test_headings_and_a_headline_repeating_the_title_are_left_out():
    """Markdown headings are structure; a first line equal to the title is the headline."""
    body = "Talks in Istanbul\n\n## Background\n\nThe talks began on Friday morning in Istanbul.\n"
    assert texts(body, title="Talks in Istanbul") == ["The talks began on Friday morning in Istanbul."]


def test_a_long_paragraph_is_split_at_sentence_boundaries_within_the_budget():
    """No passage exceeds max_tokens; pieces end at sentence ends and cover the paragraph in order."""
    sentence = "The negotiators discussed the exchange of prisoners and the return of bodies for hours. "
    body = sentence * 40
    passages = split_passages(body, max_tokens=60)
    assert len(passages) > 1
    for p in passages:
        assert len(p.text.split()) * 13 // 10 <= 60 + 2
        assert p.text.endswith(".")
    assert_round_trip(body, max_tokens=60)


def test_a_sentence_longer_than_the_budget_is_split_between_words():
    """A run-on sentence with no full stop still fits the model, cut between words."""
    body = " ".join(f"word{i}" for i in range(500))
    passages = split_passages(body, max_tokens=50)
    assert len(passages) >= 10
    assert all(not p.text.startswith(" ") and not p.text.endswith(" ") for p in passages)
    assert " ".join(p.text for p in passages) == body


def test_a_giant_single_word_is_split_too():
    """Even a 'word' of 20,000 characters ends up in pieces that fit."""
    body = "It starts normally " + "x" * 20_000 + " and ends normally."
    count = lambda t: len(t) // 4  # noqa: E731 - a tokenizer stand-in counting characters
    passages = split_passages(body, max_tokens=100, count_tokens=count)
    assert len(passages) >= 50  # 20,000 characters at 400 per piece
    assert all(count(p.text) <= 100 for p in passages)
    assert "".join(p.text for p in passages).replace(" ", "") == body.replace(" ", "")


def test_passages_fit_the_real_model(embedder):
    """With the real tokenizer, every seed passage fits the 256 word pieces the model reads."""
    for doc in scan_documents(DOCUMENTS).documents:
        for p in split_passages(doc.body, count_tokens=embedder.count_tokens, title=doc.info.title):
            assert embedder.count_tokens(p.text) <= 254


def test_tiny_fragments_are_not_passages():
    """A two-word line ('Read more') cannot answer anything and is dropped."""
    assert texts("Read more\nThe talks ended on Friday without a deal.\n") == [
        "The talks ended on Friday without a deal."
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The U.S. draft had proposed only U.S. de jure recognition. It ended.", 2),
        ("Mr. Peskov declined. Then he left.", 2),
        ("“It is over,” he said. They left.", 2),
        ("Kyiv’s allies pressed U.S. President Donald Trump to act.", 1),
        ("Why? Because. Fine!", 3),
        ("No punctuation at all here", 1),
    ],
)
def test_sentence_boundaries_in_news_prose(text, expected):
    """Abbreviations, initials and quotes do not end sentences; real ends do."""
    spans = split_sentences(text)
    assert len(spans) == expected
    assert "".join(text[s:e] for s, e in spans).replace(" ", "") == text.replace(" ", "")
