"""Named entities inside Spark executors: spaCy NER plus gazetteer patterns.

The spaCy pipeline is loaded once per Python worker (memoised per
configuration) and run with ``nlp.pipe`` over each Arrow batch, with the
parser, tagger and lemmatizer disabled: only tokenisation and NER run. An
``entity_ruler`` placed before the statistical NER tags the user's own
product names and product features, which a general-purpose model cannot
know; the model keeps organisations, money and dates. Chinese texts go to
the rules in ``udfs.chinese_entities`` instead (an English model reads
nothing in them), with the same gazetteers and the same labels.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator

import pandas as pd
from pyspark.sql import types as T
from pyspark.sql.functions import pandas_udf

from leadlake.errors import EnvironmentProblem
from leadlake.text.language import CHINESE, language_of
from udfs.chinese_entities import chinese_entities

ENTITY = T.StructType([
    T.StructField("text", T.StringType()),
    T.StructField("label", T.StringType()),
    T.StructField("start", T.IntegerType()),
    T.StructField("end", T.IntegerType()),
])
# spaCy (OntoNotes) labels -> what a sales-data engineer calls them; other labels are dropped.
LABELS = {"PRODUCT": "product", "FEATURE": "feature", "ORG": "organisation", "MONEY": "money",
          "DATE": "date", "TIME": "date"}
_DISABLED = ("parser", "tagger", "lemmatizer", "attribute_ruler", "senter", "morphologizer")
# spaCy refuses texts over nlp.max_length (1,000,000 characters) and its memory grows with length; a pasted
# log or a 1 MB e-mail thread is read for entities in its first 100,000 characters (start/end stay exact).
MAX_CHARS = 100_000


@functools.lru_cache(maxsize=4)
def load_ner(model: str, products: tuple[str, ...], features: tuple[str, ...], organisations: tuple[str, ...] = ()):
    try:
        import spacy
    except ImportError as exc:
        raise EnvironmentProblem("entity extraction needs spaCy: pip install 'leadlake[nlp]' or spacy") from exc
    try:
        nlp = spacy.load(model, exclude=[p for p in _DISABLED])
    except OSError as exc:
        raise EnvironmentProblem(f"spaCy model {model!r} is not installed (set needs.entities.model)") from exc
    patterns = [{"label": label, "pattern": [{"LOWER": w.lower()} for w in name.split()]}
                for label, names in (("PRODUCT", products), ("FEATURE", features), ("ORG", organisations))
                for name in names]
    if patterns:
        ruler = nlp.add_pipe("entity_ruler", before="ner", config={"overwrite_ents": True})
        ruler.add_patterns(patterns)
    return nlp


def entities_of(nlp, texts: list[str], gazetteers: tuple[tuple[str, ...], ...] = ((), (), ())) -> list[list[dict]]:
    """Entities per text: spaCy for English and other scripts, the Chinese rules for Chinese text.

    ``gazetteers``: (products, features, organisations), which the Chinese rules
    match directly (spaCy has them in its entity ruler already).
    """
    out: list[list[dict]] = [[] for _ in texts]
    chinese = [i for i, t in enumerate(texts) if language_of(t[:MAX_CHARS]) == CHINESE]
    for i in chinese:
        out[i] = chinese_entities(texts[i][:MAX_CHARS], *gazetteers)
    is_chinese = set(chinese)
    rest = [i for i in range(len(texts)) if i not in is_chinese]
    for i, doc in zip(rest, nlp.pipe((texts[i][:MAX_CHARS] for i in rest), batch_size=256), strict=True):
        seen, ents = set(), []
        for ent in doc.ents:
            label = LABELS.get(ent.label_)
            if label and (ent.start_char, ent.end_char) not in seen:
                seen.add((ent.start_char, ent.end_char))
                ents.append({"text": ent.text, "label": label, "start": ent.start_char, "end": ent.end_char})
        out[i] = ents
    return out


@functools.lru_cache(maxsize=8)
def entities_udf(model: str, products: tuple[str, ...] = (), features: tuple[str, ...] = (),
                 organisations: tuple[str, ...] = ()):
    """A column function: text -> array<struct<text, label, start, end>> (empty for null or blank text)."""

    @pandas_udf(T.ArrayType(ENTITY))
    def extract(batches: Iterator[pd.Series]) -> Iterator[pd.Series]:
        nlp = load_ner(model, products, features, organisations)
        for texts in batches:
            values = texts.fillna("").astype(str).tolist()
            yield pd.Series(entities_of(nlp, values, (products, features, organisations)))

    return extract
