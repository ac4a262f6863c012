"""Search with the real model: the right passage for paraphrased questions, nothing for off-topic ones."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

from index.engine import Engine
from index.errors import InvalidQuestion
from index.questions import meeting_ordinals, subject_terms
from index.search import MAX_QUESTION_CHARS, QuestionDates, SearchConfig, Searcher, clean_question, lexical_query
from tests.conftest import DOCUMENTS, REUTERS, REWRITE

FIXTURE_ARTICLES = Path(__file__).parent / "eval" / "corpus"

PARAPHRASED = [
    ("Does Moscow insist that Kyiv stay neutral?", "Ukraine becomes a neutral state"),
    ("Should war damages be compensated under the Russian terms?", "renounce their claims to receive compensation"),
    ("Were the Russian demands given on paper?", "transmitted those demands verbally"),
    ("What did Kyiv and its European partners propose instead?", "drafted an alternative proposal"),
    ("Is the Russian delegation willing to keep negotiating?", "willing to keep talking to Kyiv"),
    ("Has the Kremlin commented on the terms?", "Peskov"),
]


@pytest.mark.parametrize(("question", "expected"), PARAPHRASED)
def test_a_paraphrased_question_finds_the_passage_that_answers_it(seed_engine, question, expected):
    """Questions worded unlike the article still get the passage that answers them, quoted verbatim."""
    answer = seed_engine.answer(question)
    assert answer.hit is not None, f"nothing found for {question!r}"
    assert expected in answer.hit.quote
    body = seed_engine.searcher().snapshot.document_body(answer.hit.document.id)
    assert body[answer.hit.start : answer.hit.end] == answer.hit.quote


@pytest.mark.parametrize(
    "question",
    [
        "What is a good recipe for apple pie?",
        "Who won the football world cup in 2022?",
        "how do I install python on windows",
        "What is the capital of Australia?",
        "best pizza in New York",
    ],
)
def test_an_off_topic_question_gets_nothing_relevant(seed_engine, question):
    """Off-topic questions get no passage at all, no alternatives and no confidence band."""
    answer = seed_engine.answer(question)
    assert answer.hit is None and answer.alternatives == () and answer.confidence is None


def test_the_highlight_is_a_sentence_inside_the_quote(seed_engine):
    """The best sentence is a span of the quote, ending at a sentence end."""
    hit = seed_engine.answer("Does Moscow insist that Kyiv stay neutral?").hit
    a, b = hit.highlight
    assert 0 <= a < b <= len(hit.quote)
    assert hit.quote[a:b].endswith(".") and "neutral" in hit.quote[a:b]


def test_the_bold_sentence_says_what_was_asked_not_just_a_shared_word(seed_engine):
    """The product owner's question: the bold sentence is the demand, not the short 'without a ceasefire'."""
    hit = seed_engine.answer("What did Russia demand before agreeing to a ceasefire?").hit
    a, b = hit.highlight
    assert "demanded" in hit.quote[a:b] or "demand" in hit.quote[a:b].casefold()


def test_alternatives_never_repeat_a_passage_or_its_near_duplicate(seed_engine):
    """The alternatives are different passages; a rewrite of the answer is credited, not repeated."""
    answer = seed_engine.answer("Which regions did Russia want recognised as Russian?", alternatives=5)
    shown = [answer.hit, *answer.alternatives]
    assert len({(h.document.id, h.start) for h in shown}) == len(shown)
    quotes = [h.quote for h in shown]
    assert len(set(quotes)) == len(quotes)


def test_the_rewrite_is_credited_as_also_reporting_the_same_fact(seed_engine):
    """When both seed articles carry the fact, the answer names the other one."""
    answer = seed_engine.answer("What are Ukraine's European allies asking Trump to do?")
    hit = answer.hit
    assert hit is not None
    others = {d.id for d in hit.also_reported_by}
    assert {hit.document.id, *others} == {REUTERS, REWRITE}


def test_between_near_duplicates_the_dated_article_is_quoted(seed_engine):
    """Two articles carrying the same fact: the dated Reuters report is quoted, the undated rewrite credited."""
    hit = seed_engine.answer("What did the American draft offer on recognising Crimea?").hit
    assert hit.document.id == REUTERS and REWRITE in {d.id for d in hit.also_reported_by}


def test_since_filters_out_older_and_undated_articles(seed_engine):
    """since= keeps only articles published on or after the date; undated ones are left out."""
    later = seed_engine.answer("Does Moscow insist that Kyiv stay neutral?", since=dt.date(2025, 6, 1))
    assert later.hit is None
    same_day = seed_engine.answer("Does Moscow insist that Kyiv stay neutral?", since=dt.date(2025, 5, 17))
    assert same_day.hit.document.id == REUTERS
    assert all(h.document.id == REUTERS for h in same_day.alternatives)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("", "empty"),
        ("   \t  ", "empty"),
        ("\u200b\u200b\u2060", "empty"),
        ("\x00\x01\x02", "empty"),
        ("?!?! ... ---", "no words"),
        ("x" * (MAX_QUESTION_CHARS + 1), "too long"),
    ],
)
def test_invalid_questions_are_refused_with_a_reason(raw, message):
    """Empty, invisible-only, punctuation-only and over-long questions raise InvalidQuestion."""
    with pytest.raises(InvalidQuestion, match=message):
        clean_question(raw)


def test_cleaning_keeps_words_and_drops_invisible_characters():
    """Zero-width and control characters go; the words stay in order."""
    assert clean_question("  who\u200b is\x00 the\tspokesman?  ") == "who is the spokesman?"


@pytest.mark.parametrize("hostile", ["NEAR(", '"unbalanced', "*", "AND OR NOT", "'; DROP TABLE passages; --", "col:x"])
def test_fts_syntax_in_a_question_is_only_ever_plain_words(hostile):
    """The lexical query quotes every term: FTS5 operators and SQL never reach the engine as syntax."""
    match = lexical_query(f"ceasefire {hostile}")
    for term in match.split(" OR "):
        assert term.startswith('"') and term.endswith('"') and term[1:-1].isalnum()


def test_hostile_fts_syntax_still_gets_an_answer(seed_engine):
    """A question full of FTS/SQL syntax is answered like any other, without errors."""
    answer = seed_engine.answer("NEAR( \"neutral * AND OR NOT '; DROP TABLE passages; -- Ukraine neutral state?")
    assert answer.hit is None or answer.hit.quote


@pytest.mark.parametrize(
    ("question", "month", "agreement"),
    [
        ("what happened at the july talks", 7, 1.0),
        ("what happened at the july talks", 6, -1.0),
        ("what happened in may", 5, 1.0),
        ("may i ask what russia wanted", 7, 0.0),
        ("who is the spokesman", 7, 0.0),
    ],
)
def test_a_month_in_the_question_prefers_articles_from_that_month(question, month, agreement):
    """Months named in a question agree or disagree with an article's date; 'may' as a verb is no month."""
    assert QuestionDates.parse(question).agreement(dt.date(2025, month, 10)) == agreement


@pytest.mark.parametrize(
    ("question", "latest"),
    [
        ("is there a date for the next round yet", True),
        ("what happened at the latest round?", True),
        ("are they still far apart", True),
        ("how many prisoners have been swapped so far", True),
        ("what did they agree in june, and is it still on?", False),  # a month names the time asked about
        ("what did russia demand", False),
        ("who went first", False),
    ],
)
def test_questions_about_how_things_stand_now_are_recognised(question, latest):
    """'yet', 'latest', 'still', 'so far' ask about now, unless the question names a month or year."""
    assert QuestionDates.parse(question).latest is latest


@pytest.fixture(scope="module")
def rounds_engine(tmp_path_factory: pytest.TempPathFactory, embedder) -> Engine:
    """The seeds plus the eval's three articles about later rounds (June 2, July 23, July 28)."""
    base = tmp_path_factory.mktemp("rounds")
    docs = base / "documents"
    shutil.copytree(DOCUMENTS, docs)
    for article in FIXTURE_ARTICLES.glob("*.md"):
        shutil.copy(article, docs / article.name)
    engine = Engine(docs, base / "index", embedder=embedder)
    engine.reindex()
    return engine


def test_a_question_about_now_is_answered_from_the_newest_reporting(rounds_engine):
    """'Is there a date for the next round yet?': the June article's 'no date for a third round' is stale
    once July's articles say 'no date for a fourth round'; without the recency rule June's is quoted."""
    question = "is there a date for the next round yet"
    answer = rounds_engine.answer(question)
    assert answer.hit is not None and answer.hit.document.published >= dt.date(2025, 7, 23)
    assert "fourth round" in answer.hit.quote
    snapshot = rounds_engine.searcher().snapshot
    without = Searcher(snapshot, rounds_engine.embedder, SearchConfig(recency=False)).answer(question)
    assert without.hit is not None and "third round" in without.hit.quote


@pytest.mark.parametrize(
    "question",
    ["are the two sides still far apart?", "what's the ruble to dollar exchange rate right now", "latest news?"],
)
def test_asking_about_now_never_makes_anything_more_relevant(rounds_engine, question):
    """Recency only ever lowers older articles' scores: no question gets past the threshold by saying 'now'."""
    snapshot = rounds_engine.searcher().snapshot
    on = Searcher(snapshot, rounds_engine.embedder).answer(question)
    off = Searcher(snapshot, rounds_engine.embedder, SearchConfig(recency=False)).answer(question)
    assert on.relevance <= off.relevance
    assert (on.hit is None) >= (off.hit is None)


@pytest.mark.parametrize(
    ("text", "numbers"),
    [
        ("Third round of Istanbul talks ends in 40 minutes with deal on 1,200-prisoner swap", {3}),
        ("Russia and Ukraine agree new prisoner swaps at second Istanbul talks", {2}),
        ("what did they agree at the 2nd round?", {2}),
        ("the first direct talks in three years", {1}),
        ("who went first", set()),
        ("Medinsky headed Moscow's team for the second time", set()),
        ("first of all, what did russia want", set()),
    ],
)
def test_a_meeting_named_by_number_is_recognised(text, numbers):
    """'the third round', 'second Istanbul talks', '2nd round' name a meeting; 'went first' does not."""
    assert meeting_ordinals(text) == frozenset(numbers)


def test_a_title_naming_the_asked_meeting_agrees_and_another_disagrees():
    """+1 for the same meeting, -1 for another, 0 when the title or the question names none."""
    asked = QuestionDates.parse("what was agreed at the third round?")
    assert asked.meeting_agreement("Third round of Istanbul talks ends in 40 minutes") == 1.0
    assert asked.meeting_agreement("New prisoner swaps at second Istanbul talks") == -1.0
    assert asked.meeting_agreement("ANALYSIS: Istanbul talks deliver prisoner swaps, not peace") == 0.0
    assert QuestionDates.parse("what was agreed?").meeting_agreement("Third round of Istanbul talks") == 0.0


@pytest.mark.parametrize(
    ("question", "published"),
    [
        ("what was agreed at the second round of talks?", dt.date(2025, 6, 2)),
        ("what did russia offer at the second round?", dt.date(2025, 6, 2)),
        ("who led Russia's team at the third round?", dt.date(2025, 7, 23)),
    ],
)
def test_a_question_naming_a_round_is_answered_from_that_rounds_article(rounds_engine, question, published):
    """With three rounds indexed, 'the second round' is answered from the article about the second round."""
    answer = rounds_engine.answer(question)
    assert answer.hit is not None and answer.hit.document.published == published


def test_without_the_title_rule_the_rounds_get_confused(rounds_engine):
    """The rule is what fixes it: without it, 'the second round' is answered from July's third-round report."""
    snapshot = rounds_engine.searcher().snapshot
    config = SearchConfig(meeting_matching=False)
    answer = Searcher(snapshot, rounds_engine.embedder, config).answer("what was agreed at the second round of talks?")
    assert answer.hit is not None and answer.hit.document.published != dt.date(2025, 6, 2)


@pytest.mark.parametrize(
    ("question", "terms"),
    [
        ("whos medinsky", ("medinsky",)),
        ("peskov?", ("peskov",)),
        ("tell me about witkoff", ("witkoff",)),
        ("whats hakan fidan's role in all this", ("hakan", "fidan")),
        ("did china send anyone to the istanbul talks", ("china", "send", "anyone", "istanbul", "talks")),
    ],
)
def test_the_subject_of_a_question_is_what_it_names(question, terms):
    """Asking words ('whos', 'tell me about', 'role') go; what is left is what the question is about."""
    assert subject_terms(question) == terms


@pytest.mark.parametrize(
    ("question", "named"),
    [("whos medinsky", "Medinsky"), ("peskov?", "Peskov"), ("tell me about witkoff", "Witkoff")],
)
def test_a_question_that_only_names_someone_gets_a_passage_about_them(rounds_engine, question, named):
    """One-name questions were 'nothing relevant' (MiniLM scores them low); a passage naming them answers."""
    answer = rounds_engine.answer(question)
    assert answer.hit is not None and named in answer.hit.quote
    snapshot = rounds_engine.searcher().snapshot
    assert Searcher(snapshot, rounds_engine.embedder, SearchConfig(subject_lookup=False)).answer(question).hit is None


@pytest.mark.parametrize("question", ["who is taylor swift", "tell me about china", "elon musk?"])
def test_a_short_question_about_something_no_article_names_is_still_nothing_relevant(rounds_engine, question):
    """The lift needs a passage naming every term: names the articles never mention get nothing."""
    assert rounds_engine.answer(question).hit is None
