"""Entities in Chinese text, where an English NER model finds nothing or nonsense.

Chinese has no spaces, so the English pipeline's tokens are whole clauses and
its statistical NER tags them at random. Instead:

- The gazetteers (the user's products, features and competitors from conf and
  the product catalogue, Chinese or English names) are matched as substrings,
  case-insensitively, longest name first; an ASCII name must not sit inside a
  longer ASCII word ("SSO" in "希望增加SSO功能", not in "ESSOR").
- Money and dates are written in a few fixed shapes ("3万元", "¥8,500",
  "大约20万", "下周三", "3月3日", "月底", "第三季度", "三天内"): regular
  expressions, as a sales-ops person would write them.
- Organisations the gazetteer does not know come from jieba's segmentation
  with parts of speech: words jieba tags as organisations (``nt``), and runs of
  nouns ending in an organisation suffix ("北京字节跳动科技有限公司").

Spans never overlap: product and feature names first, then the longest of the
other matches (so a competitor's name inside a longer company name gives way
to the whole name).
Offsets are character offsets into the text given, like spaCy's.
"""

from __future__ import annotations

import functools
import logging
import re

NUM = r"\d+(?:[.,]\d+)*"
CN_NUM = r"[零一二两三四五六七八九十百千万亿]+"
SMALL_CN = r"[一二三四五六七八九十两几半]+"
CURRENCY_AFTER = r"(?:元|块钱|块|人民币|美元|美金|欧元|英镑|日元|港币|港元)"
QUALIFIER_AFTER = r"(?:左右|上下|以内|以下|以上|的预算)"
PART_OF_DAY = r"(?:上午|下午|晚上|早上|中午|傍晚)"
WEEKDAY = r"(?:周|星期|礼拜)[一二三四五六日天]"
RELATIVE = r"(?:下下|上上|下个|上个|这个|下|上|本|这)"

MONEY = [re.compile(p) for p in (
    rf"(?:[¥￥$€£]|RMB|CNY|人民币)\s*{NUM}\s*(?:万|千|百|亿)?",
    rf"(?:{NUM}\s*(?:万|千|百|亿|k|K)?|{CN_NUM})\s*{CURRENCY_AFTER}",
    # "大约20万", "30万左右": a round sum in 万 or 亿 with no currency word, unless a noun follows ("3万用户").
    rf"{NUM}\s*(?:万|亿)(?=$|{QUALIFIER_AFTER}|[^\u3400-\u9fff])",
)]
DATES = [re.compile(p) for p in (
    r"\d{4}\s*年\s*\d{1,2}\s*月(?:\s*\d{1,2}\s*[日号])?",
    r"\d{4}[-/.]\d{1,2}[-/.]\d{1,2}",
    r"(?:\d{1,2}|[一二三四五六七八九十]{1,3})\s*月\s*(?:\d{1,2}|[一二三四五六七八九十]{1,3})\s*[日号]",
    r"(?:\d{1,2}|十[一二]?|[一二三四五六七八九])月(?:份|底|初|中旬|上旬|下旬|中)?",
    rf"{RELATIVE}?{WEEKDAY}{PART_OF_DAY}?",
    rf"{RELATIVE}(?:周|星期|礼拜|月|季度|财年|年)(?:初|末|底|中)?",
    rf"(?:今天|明天|后天|大后天|昨天|前天|今晚|明晚|明早|今早|今年|明年|去年|后年){PART_OF_DAY}?",
    r"(?:月底|月初|月中|年底|年初|年中|年末|季度末|季末|周末|节前|节后|春节|国庆|元旦|新财年)",
    r"第[一二三四1-4]季度",
    r"(?<![A-Za-z0-9])[Qq][1-4](?![A-Za-z0-9])",
    rf"(?:{SMALL_CN}|\d+)\s*(?:个)?(?:天|周|星期|礼拜|月|年|工作日|小时)(?:之内|以内|内|之后|以后|后|之前|前)?",
    rf"{PART_OF_DAY}(?:\d{{1,2}}|[一二三四五六七八九十]{{1,3}})点(?:半|\d{{1,2}}分)?",
    r"\d{1,2}\s*[:：]\s*\d{2}",
    r"\d{1,2}点(?:半|\d{1,2}分)?",
)]
# jieba's parts of speech that can open or continue an organisation's name.
NOMINAL = {"n", "ns", "nz", "nt", "nr", "nrt", "nrfg", "vn", "j", "eng", "an", "l"}
ORG_SUFFIXES = ("股份有限公司", "有限责任公司", "有限公司", "公司", "集团", "银行", "大学", "学院", "研究院",
                "研究所", "医院", "事务所", "工作室", "协会", "基金会", "控股")
# Words that say what kind of company, not which ("一家科技公司" names none).
GENERIC = {"科技", "软件", "网络", "信息", "技术", "贸易", "咨询", "互联网", "物流", "外包", "服务", "分", "子",
           "总", "大", "小", "新", "老", "这家", "那家", "一家", "贵", "本", "我", "你", "初创", "创业", "中小",
           "大型", "小型", "中型", "外资", "国企", "民营", "上市", "跨国", "合作", "母", "兄弟", "同行", "竞争"}


def _ascii_edge(name: str) -> str:
    """The name as a pattern that does not match inside a longer ASCII word."""
    head = r"(?<![A-Za-z0-9])" if name[:1].isascii() and name[:1].isalnum() else ""
    tail = r"(?![A-Za-z0-9])" if name[-1:].isascii() and name[-1:].isalnum() else ""
    return head + re.escape(name) + tail


@functools.lru_cache(maxsize=8)
def gazetteer(products: tuple[str, ...], features: tuple[str, ...],
              organisations: tuple[str, ...]) -> tuple[re.Pattern | None, dict[str, str]]:
    """One pattern over every name, longest first, and the label of each name (lower-cased)."""
    labels: dict[str, str] = {}
    for label, names in (("organisation", organisations), ("feature", features), ("product", products)):
        labels.update({n.strip().lower(): label for n in names if n.strip()})
    if not labels:
        return None, labels
    names = sorted({n.strip() for group in (products, features, organisations) for n in group if n.strip()},
                   key=lambda n: (-len(n), n))
    return re.compile("|".join(_ascii_edge(n) for n in names), re.IGNORECASE), labels


@functools.lru_cache(maxsize=1)
def _posseg():
    import jieba
    import jieba.posseg

    jieba.setLogLevel(logging.WARNING)
    return jieba.posseg


def organisations_by_segmentation(text: str) -> list[tuple[int, int]]:
    """Spans jieba reads as organisations: ``nt`` words and noun runs ending in an organisation suffix."""
    words, pos = [], 0
    for word, flag in _posseg().lcut(text):
        start = text.find(word, pos)
        if start < 0:
            continue
        pos = start + len(word)
        words.append((word, flag, start, pos))
    spans = []
    for i, (word, flag, start, end) in enumerate(words):
        suffix = next((s for s in ORG_SUFFIXES if word.endswith(s)), None)
        if suffix is None and flag == "nt" and len(word) >= 2:
            spans.append((start, end))
        if suffix is None:
            continue
        first, j = i, i - 1
        while flag != "nt" and j >= 0 and i - j <= 5 and words[j][1] in NOMINAL and words[j][3] == words[j + 1][2]:
            first, j = j, j - 1
        naming = [w for w, *_ in words[first:i]] + [word[:-len(suffix)]]
        if any(w and w not in GENERIC for w in naming):
            spans.append((words[first][2], end))
    return spans


def chinese_entities(text: str, products: tuple[str, ...] = (), features: tuple[str, ...] = (),
                     organisations: tuple[str, ...] = ()) -> list[dict]:
    """``[{"text", "label", "start", "end"}]`` in text order, non-overlapping."""
    taken: list[tuple[int, int, str]] = []

    def free(start: int, end: int) -> bool:
        return all(end <= s or start >= e for s, e, _ in taken)

    pattern, labels = gazetteer(products, features, organisations)
    named = [] if pattern is None else [(m.start(), m.end(), labels.get(m.group(0).lower(), "feature"))
                                        for m in pattern.finditer(text)]
    # A known competitor inside a longer organisation's name ("字节跳动" in "北京字节跳动科技有限公司") gives way
    # to the whole name; products and features never do.
    taken += [n for n in named if n[2] != "organisation"]
    found = [n for n in named if n[2] == "organisation"]
    found += [(m.start(), m.end(), label) for label, patterns in (("money", MONEY), ("date", DATES))
              for p in patterns for m in p.finditer(text) if m.end() > m.start()]
    found += [(s, e, "organisation") for s, e in organisations_by_segmentation(text)]
    for start, end, label in sorted(found, key=lambda f: (f[0] - f[1], f[0])):
        if free(start, end):
            taken.append((start, end, label))
    return [{"text": text[s:e], "label": label, "start": s, "end": e} for s, e, label in sorted(taken)]
