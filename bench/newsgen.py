"""A synthetic news corpus about the talks, at any size: realistic text statistics, cheap realistic vectors.

Text. Articles are written from sentence templates about ~30 topics of the talks (prisoner
exchanges, a ceasefire, energy strikes, the nuclear plant, ...), with people, roles, places,
organisations, numbers and dates drawn from lists, and a long tail of ordinary English words
(the model's own vocabulary, drawn by a Zipf law) so that the vocabulary keeps growing with the
corpus as real news does (Heaps' law). Common words ("talks", "Russia", "said") are in a large
share of passages, names and numbers in few: what decides the cost of bm25. Every article has a
title, outlet, author and date, and 6-14 paragraphs of 2-5 sentences: the real splitter makes
its passages.

Vectors. The real model embeds about 100 passages a second on 2 cores: a million would take
three hours. Instead ``PooledEmbedder`` embeds, with the real model, a few real instances of
every (template, topic) pair (a few thousand sentences, once per run), and gives each sentence
of the corpus the vector of one instance of its own pair with a little noise; a passage's vector
is the token-weighted mean of its sentences' vectors, normalised (what mean pooling over the
passage's tokens approximates). So vectors cluster by what a sentence says, as real embeddings do,
a question finds many passages above the answer threshold (grouping and highlighting run for
real), and IVF lists are as unbalanced as topics are. What it cannot predict is answer quality
on such text; speed, memory and whether the lexical shortcut returns FTS5's own results, it can.

Deterministic for a seed. Used by bench/scale.py.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

_FIRST = (
    "Rustem Dmytro Andriy Olena Iryna Oleksandr Volodymyr Mykhailo Serhiy Yulia Kyrylo Taras Vladimir Sergei Dmitry "
    "Vladimir Yuri Maria Igor Alexei Mikhail Nikolai Hakan Recep Ibrahim Mevlut Elif Aylin Marco Steve Keith Marco "
    "Antonio Emmanuel Olaf Friedrich Keir Ursula Kaja Mark Jens Giorgia Donald JD Scott Pete Karoline Rafael Pietro"
).split()
_LAST = (
    "Umerov Kuleba Yermak Zelenskiy Sybiha Budanov Kyslytsya Medinsky Peskov Lavrov Ushakov Galuzin Fomin Kostyukov "
    "Zakharova Dmitriev Shoigu Fidan Erdogan Kalin Witkoff Kellogg Rubio Vance Bessent Hegseth Leavitt Grossi Macron "
    "Scholz Merz Starmer Leyen Kallas Rutte Stoltenberg Meloni Guterres Parolin Tusk Sikorski Stubb Orban Fico Lammy "
    "Barrot Wadephul Tajani Albares Rasmussen Costa Hoekstra Dombrovskis Bakhmatov Horbenko Melnyk Shevchenko"
).split()
_ROLES = (
    "defence minister|foreign minister|chief negotiator|Kremlin spokesman|presidential aide|deputy foreign minister|"
    "head of the delegation|special envoy|national security adviser|ambassador to Turkey|military intelligence chief|"
    "secretary of the security council|prime minister|president|senior official|human rights ombudsman|"
    "spokeswoman for the foreign ministry|adviser to the president"
).split("|")
_COUNTRIES = ("Russia", "Ukraine", "Turkey", "the United States", "France", "Germany", "Britain", "Poland", "Qatar")
_ADJ_COUNTRY = {"Russia": "Russian", "Ukraine": "Ukrainian", "Turkey": "Turkish", "the United States": "American"}
_CITIES = (
    "Istanbul Kyiv Moscow Ankara Geneva Riyadh Doha Vatican Brussels Washington Kharkiv Odesa Dnipro Zaporizhzhia "
    "Kherson Sumy Lviv Mykolaiv Belgorod Kursk Rostov Sevastopol Donetsk Luhansk Mariupol Pokrovsk Kramatorsk"
).split()
_REGIONS = "Donetsk Luhansk Zaporizhzhia Kherson Crimea Kharkiv Sumy Kursk Belgorod Dnipropetrovsk".split()
_ORGS = (
    "the Kremlin|NATO|the United Nations|the European Union|the International Committee of the Red Cross|the IAEA|"
    "the OSCE|the Turkish foreign ministry|the Ukrainian general staff|the Russian defence ministry|the White House|"
    "the Vatican|the G7|the European Commission"
).split("|")
_OUTLETS = ("Reuters", "Associated Press", "Bosphorus Daily", "Kyiv Wire", "The Istanbul Desk", "Euronews", "AFP")
_WEEKDAYS = "Monday Tuesday Wednesday Thursday Friday Saturday Sunday".split()
_MONTHS = "January February March April May June July August September October November December".split()
_SAID = "said|told reporters|said in a statement|wrote on Telegram|told a briefing|said on television|added".split("|")

# topic: (noun phrases, verb phrases, units that can be counted)
_TOPICS: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    "prisoners": (
        ("a prisoner exchange", "the swap of prisoners of war", "the return of captured soldiers", "the exchange"),
        ("exchange prisoners of war", "swap wounded and sick captives", "return the bodies of fallen soldiers"),
        ("prisoners of war", "captives", "soldiers", "bodies"),
    ),
    "ceasefire": (
        ("a ceasefire", "an unconditional truce", "a halt to the fighting", "a 30-day ceasefire"),
        ("agree a ceasefire", "halt hostilities along the front line", "monitor a truce"),
        ("kilometres of front line", "monitors", "violations"),
    ),
    "energy": (
        ("strikes on energy infrastructure", "a moratorium on energy strikes", "attacks on power plants"),
        ("stop striking power plants", "protect the power grid", "restore electricity"),
        ("substations", "power plants", "homes without power"),
    ),
    "nuclear": (
        ("the Zaporizhzhia nuclear power plant", "nuclear safety", "the plant's cooling systems"),
        ("return the plant to Ukrainian control", "allow inspectors into the plant", "restore the plant's power lines"),
        ("inspectors", "reactors", "power lines"),
    ),
    "territory": (
        ("territorial concessions", "the withdrawal of troops", "the status of occupied regions", "the demarcation"),
        ("withdraw troops from four regions", "recognise the annexation", "freeze the front line"),
        ("regions", "square kilometres", "villages"),
    ),
    "guarantees": (
        ("security guarantees", "a reassurance force", "a defence pact", "neutral status"),
        ("guarantee Ukraine's security", "deploy European troops", "rule out NATO membership"),
        ("troops", "brigades", "guarantors"),
    ),
    "memorandum": (
        ("a memorandum", "the draft peace terms", "the two memoranda", "a framework document"),
        ("exchange draft memoranda", "study the Russian paper", "set out conditions for a settlement"),
        ("pages", "points", "conditions"),
    ),
    "children": (
        ("the return of deported children", "a list of abducted children", "family reunification"),
        ("return deported children", "hand over a list of children", "reunite families"),
        ("children", "families", "orphans"),
    ),
    "sanctions": (
        ("new sanctions", "a sanctions package", "the oil price cap", "frozen Russian assets"),
        ("impose new sanctions", "lift sanctions on banks", "seize frozen assets"),
        ("billion dollars", "banks", "tankers"),
    ),
    "grain": (
        ("the Black Sea grain corridor", "safe passage for shipping", "grain exports"),
        ("guarantee safe shipping in the Black Sea", "resume grain exports", "clear mines from the sea lanes"),
        ("ships", "tonnes of grain", "ports"),
    ),
    "drones": (
        ("overnight drone attacks", "a missile barrage", "air defence"),
        ("shoot down drones", "strike airfields deep inside Russia", "supply air defence systems"),
        ("drones", "missiles", "air defence systems"),
    ),
    "summit": (
        ("a leaders' summit", "a meeting between the presidents", "direct talks at the highest level"),
        ("meet face to face", "prepare a summit", "set a date for the next round"),
        ("rounds of talks", "hours", "delegates"),
    ),
    "format": (
        ("the format of the talks", "the composition of the delegation", "technical-level working groups"),
        ("upgrade the delegation", "form working groups", "move the talks to Geneva"),
        ("delegates", "working groups", "experts"),
    ),
    "humanitarian": (
        ("humanitarian corridors", "the evacuation of civilians", "aid convoys"),
        ("open humanitarian corridors", "evacuate civilians", "let aid convoys through"),
        ("civilians", "convoys", "tonnes of aid"),
    ),
    "elections": (
        ("presidential elections", "martial law", "the legitimacy of the government"),
        ("hold elections", "lift martial law", "question the president's mandate"),
        ("polling stations", "voters", "months"),
    ),
    "reconstruction": (
        ("reconstruction funding", "a recovery conference", "damage to infrastructure"),
        ("rebuild destroyed cities", "pledge reconstruction money", "repair bridges and railways"),
        ("billion euros", "bridges", "schools"),
    ),
}
_TOPIC_NAMES = tuple(_TOPICS)

_TEMPLATES = (
    "{person}, {role}, {said} on {weekday} that {country} was ready to {vp} if {other} agreed to {vp2}.",
    "The talks in {city} ended after {n} hours without {np}, but the delegations agreed to {vp}.",
    "{Country_adj} negotiators demanded {np} before any discussion of {np2}, according to {source}.",
    "{person} {said} that {n} {unit} had been covered by {np}, calling it a {rare} step.",
    "According to {org}, {np} remained the main obstacle to a settlement, and {rare} talks on {np2} stalled.",
    "{Country_adj} officials described {np} as a {rare} demand, while {other} called it a {rare2} proposal.",
    "In {month}, {country} and {other} agreed to {vp}, the first such agreement since the talks began in {city}.",
    "\u201cWe are ready to {vp}, but not at any price,\u201d {person} {said} after meeting {person2} in {city}.",
    "{org} urged both sides to {vp} and offered to host a further round in {city} in {month}.",
    "The delegation led by {person} handed over a document of {n} {unit} setting out {np}.",
    "{person2}, the {role}, {said} the {rare} dispute over {np} could take {n} weeks to resolve.",
    "Diplomats in {city} said {np} was discussed for {n} minutes and that a {rare} compromise on {np2} was possible.",
    "{country} accused {other} of delaying {np}, a charge {person} rejected as {rare}.",
    "More than {n} {unit} from the {region} region were affected, {source} reported on {weekday}.",
    "Analysts in {city} said the {rare} talks had achieved little beyond {np}.",
    "{person} and {person2} spoke by telephone on {weekday} about {np} and {np2}.",
    "The {rare} proposal would {vp} within {n} days and {vp2} under {org} supervision.",
    "Asked about {np}, {person} {said} that {country} had not changed its position since {month}.",
    "{Country_adj} forces reported {n} {unit} near {city} overnight, as talks on {np} continued.",
    "A second {rare} round is expected in {city} on {day} {month}, where {np} will top the agenda.",
)


@dataclass(frozen=True, slots=True)
class Corpus:
    """What was written: the folder, counts, and each sentence's hash with its (template, topic) key."""

    folder: Path
    articles: int
    sentences: int
    hashes: np.ndarray  # uint64, sorted
    keys: np.ndarray  # int32, aligned with hashes: template * len(topics) + topic


def sentence_hash(text: str) -> int:
    """A stable 64-bit hash of a sentence's whitespace-normalised text."""
    return int.from_bytes(hashlib.blake2b(" ".join(text.split()).encode(), digest_size=8).digest(), "little")


def key_count() -> int:
    """How many (template, topic) keys there are."""
    return len(_TEMPLATES) * len(_TOPIC_NAMES)


def _long_tail(model_vocab: Path | None) -> list[str]:
    """Ordinary English words, roughly most frequent first (the model's vocabulary, past its function words)."""
    words = []
    if model_vocab is not None and model_vocab.is_file():
        for line in model_vocab.read_text(encoding="utf-8").splitlines():
            if line.isalpha() and line.islower() and len(line) >= 4:
                words.append(line)
    return words[300:] or [f"word{i}" for i in range(20_000)]


class _Writer:
    """Fills templates for one seed, drawing every slot of a batch of sentences at once (numpy)."""

    def __init__(self, seed: int, tail: list[str]) -> None:
        self.rng = np.random.default_rng(seed)
        self.tail = tail
        weights = 1.0 / np.arange(1, len(tail) + 1)  # Zipf: the word of rank r with weight 1/r
        self.tail_p = weights / weights.sum()
        self.people = [f"{f} {last}" for f in _FIRST for last in _LAST]
        made = [w.capitalize() + e for w in tail[:4000] for e in ("enko", "ov")]  # rarer surnames
        self.rare_people = [f"{_FIRST[i % len(_FIRST)]} {m}" for i, m in enumerate(made)]

    def _pick(self, items: Sequence[str], n: int) -> list[str]:
        return [items[i] for i in self.rng.integers(0, len(items), n)]

    def _people(self, n: int) -> list[str]:
        common = self._pick(self.people, n)
        rare = self._pick(self.rare_people, n)
        return [r if u < 0.15 else c for c, r, u in zip(common, rare, self.rng.random(n), strict=True)]

    def sentences(self, templates: Sequence[int], topics: Sequence[str]) -> list[str]:
        """One sentence per (template, topic)."""
        n = len(templates)
        g = self.rng
        rare = [self.tail[i] for i in g.choice(len(self.tail), 2 * n, p=self.tail_p)]
        columns = {
            "person": self._people(n),
            "person2": self._people(n),
            "role": self._pick(_ROLES, n),
            "said": self._pick(_SAID, n),
            "weekday": self._pick(_WEEKDAYS, n),
            "month": self._pick(_MONTHS, n),
            "day": [str(d) for d in g.integers(1, 29, n)],
            "city": self._pick(_CITIES, n),
            "region": self._pick(_REGIONS, n),
            "org": self._pick(_ORGS, n),
            "source": self._pick(("a senior official", "two people familiar with the talks", *_OUTLETS), n),
            "n": self._pick(("2 3 5 7 10 12 20 30 40 84 150 300 390 500 1000 1200 6000").split(), n),
            "rare": rare[:n],
            "rare2": rare[n:],
        }
        countries = g.integers(0, len(_COUNTRIES), n)
        others = (countries + g.integers(1, len(_COUNTRIES), n)) % len(_COUNTRIES)
        other_topics = self._pick(_TOPIC_NAMES, n)
        picks = g.integers(0, 1 << 30, (n, 4))
        out = []
        for i in range(n):
            nps, vps, units = _TOPICS[topics[i]]
            other = _TOPICS[other_topics[i]]
            row = {name: values[i] for name, values in columns.items()}
            country = _COUNTRIES[countries[i]]
            row.update(
                country=country,
                Country_adj=_ADJ_COUNTRY.get(country, country),
                other=_COUNTRIES[others[i]],
                np=nps[picks[i, 0] % len(nps)],
                vp=vps[picks[i, 1] % len(vps)],
                unit=units[picks[i, 2] % len(units)],
                np2=other[0][picks[i, 3] % len(other[0])],
                vp2=other[1][picks[i, 3] % len(other[1])],
            )
            text = _TEMPLATES[templates[i]].format(**row)
            out.append(text[0].upper() + text[1:])
        return out


def write_corpus(target: Path, passages: int, *, seed: int = 11, model_vocab: Path | None = None) -> Corpus:
    """Write about ``passages`` passages' worth of articles (one paragraph is one passage) into ``target``."""
    target.mkdir(parents=True, exist_ok=True)
    writer = _Writer(seed, _long_tail(model_vocab))
    g = writer.rng
    hashes: list[np.ndarray] = []
    keys: list[np.ndarray] = []
    written = article = 0
    n_topics = len(_TOPIC_NAMES)
    while written < passages:
        # One batch of articles at a time: their shapes first, then every sentence in one draw.
        shapes = []
        for _ in range(200):
            if written >= passages:
                break
            count = min(int(g.integers(6, 15)), passages - written)
            shapes.append([int(x) for x in g.integers(2, 6, count)])
            written += count
        topic = g.integers(0, n_topics, (len(shapes), 2))
        total = sum(sum(s) for s in shapes)
        templates = g.integers(0, len(_TEMPLATES), total)
        owner = np.repeat(np.arange(len(shapes)), [sum(s) for s in shapes])
        which = np.where(g.random(total) < 0.7, topic[owner, 0], topic[owner, 1])
        text = writer.sentences(templates, [_TOPIC_NAMES[t] for t in which])
        titles = writer.sentences(g.integers(0, len(_TEMPLATES), len(shapes)), [_TOPIC_NAMES[t] for t in topic[:, 0]])
        meta = zip(writer._pick(_OUTLETS, len(shapes)), writer._people(len(shapes)), strict=True)
        hashes.append(np.fromiter((sentence_hash(t) for t in text), np.uint64, total))
        keys.append((templates * n_topics + which).astype(np.int32))
        cursor = 0
        for shape, title, (outlet, author) in zip(shapes, titles, meta, strict=True):
            paragraphs = []
            for count in shape:
                paragraphs.append(" ".join(text[cursor : cursor + count]))
                cursor += count
            headline = " ".join(title.rstrip(".").split()[:12]).rstrip(",;:")
            month, day = int(g.integers(5, 13)), int(g.integers(1, 29))
            front = (
                f"---\ntitle: {_yaml(headline)}\nsource: {outlet}\nauthor: {_yaml(author)}\n"
                f"published: 2025-{month:02d}-{day:02d}\n---\n"
            )
            (target / f"news-{article:07d}.md").write_text(front + "\n\n".join(paragraphs) + "\n", encoding="utf-8")
            article += 1
    h = np.concatenate(hashes) if hashes else np.zeros(0, np.uint64)
    k = np.concatenate(keys) if keys else np.zeros(0, np.int32)
    order = np.argsort(h)
    return Corpus(target, article, len(h), h[order], k[order])


def _yaml(text: str) -> str:
    """A YAML double-quoted scalar."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def instances(per_key: int, *, seed: int = 5, model_vocab: Path | None = None) -> list[tuple[int, str]]:
    """``per_key`` sentences of every (template, topic) key, as (key, sentence): what the real model embeds."""
    writer = _Writer(seed, _long_tail(model_vocab))
    pairs = [(t, i) for t in range(len(_TEMPLATES)) for i in range(len(_TOPIC_NAMES)) for _ in range(per_key)]
    text = writer.sentences([t for t, _ in pairs], [_TOPIC_NAMES[i] for _, i in pairs])
    return [(t * len(_TOPIC_NAMES) + i, s) for (t, i), s in zip(pairs, text, strict=True)]


_WORD = re.compile(r"\S+")


class PooledEmbedder:
    """An ``Embedder`` for the synthetic corpus: sentence vectors from real-model instances of their key.

    ``model_id`` is the real model's, so the real engine opens the index as its own; questions are
    never embedded here (the bench encodes them with the real model).
    """

    def __init__(self, corpus: Corpus, key_vectors: np.ndarray, model_id: str, *, noise: float = 0.35) -> None:
        # key_vectors: (keys, per_key, dim) real-model vectors of each key's instances
        self._corpus = corpus
        self._vectors = key_vectors
        self._model_id = model_id
        self._noise = noise
        self._dimension = int(key_vectors.shape[-1])
        # Noise vectors drawn once and picked by the sentence's hash: deterministic, and cheap per sentence.
        table = np.random.default_rng(3).standard_normal((4096, self._dimension)).astype(np.float32)
        self._noise_table = noise * table / np.sqrt(self._dimension)

    @property
    def model_id(self) -> str:
        """The real model's."""
        return self._model_id

    @property
    def dimension(self) -> int:
        """The real model's."""
        return self._dimension

    def count_tokens(self, text: str) -> int:
        """The splitter's model-free approximation (passages here are far below the limit)."""
        from index.passages import approximate_token_count

        return approximate_token_count(text)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Not used: the bench encodes questions with the real model."""
        raise NotImplementedError("questions are encoded with the real model")

    def _sentence(self, text: str) -> np.ndarray:
        h = np.uint64(sentence_hash(text))
        i = int(np.searchsorted(self._corpus.hashes, h))
        if i < len(self._corpus.hashes) and self._corpus.hashes[i] == h:
            key = int(self._corpus.keys[i])
        else:  # the splitter cut elsewhere than the writer: any key, deterministically
            key = int(h % np.uint64(len(self._vectors)))
        base = self._vectors[key, int(h % np.uint64(self._vectors.shape[1]))]
        noise = self._noise_table[int(h % np.uint64(len(self._noise_table)))]
        v = base + noise
        return (v / np.linalg.norm(v)).astype(np.float32)

    def embed_passages(self, passages, *, progress=None):  # type: ignore[no-untyped-def]
        """Sentence vectors by key; the passage vector is their token-weighted mean, normalised."""
        from index.embedder import EmbeddedPassage

        out = []
        for p in passages:
            spans = p.sentences or ((0, len(p.text)),)
            rows = np.stack([self._sentence(p.text[s:e]) for s, e in spans])
            weights = np.array([len(_WORD.findall(p.text[s:e])) or 1 for s, e in spans], dtype=np.float32)
            mean = (rows * weights[:, None]).sum(axis=0)
            # float16 sentence vectors, as the record stores them: a million passages' worth fit in 4 GB, not 7.
            out.append(EmbeddedPassage(mean / np.linalg.norm(mean), rows.astype(np.float16)))
        if progress:
            progress(len(passages))
        return out
