"""Junk leads: fake sign-ups, test entries, bots. Rules a sales-ops person would write, as Spark columns.

Each rule that fires adds evidence: ``junk_score = 1 - prod(1 - weight)`` over
the fired rules, so one strong sign (an invalid address) or several weak ones
(a free address, no title, a made-up phone) make a lead junk. The same flags
are model features (``junk_*``), so the conversion model learns what they cost.

One sign is learned rather than written: ``junk_outlier``, a lead further from
its K-Means segment's centre than nearly all leads the segments were fitted on
(anomaly detection; ``segments.py``). It is weak evidence on purpose: alone it
never makes a lead junk, beside a made-up phone or a throwaway address it does.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

# Above any single weak-to-medium sign: a disposable address alone (0.6) is a real person often enough.
JUNK_THRESHOLD = 0.65
KEYBOARD = r"(qwert|asdf|zxcv|hjkl|jkhg|lkjh|sdfg|xcvb)"
PLACEHOLDERS = ["test", "testing", "n/a", "na", "none", "null", "-", "xxx", "aaa", "zzz", "test company", "asdf",
                "company", "abc", "foo", "bar",
                # What Chinese sign-up forms get instead: "test", "none", "unknown", "so-and-so (company)",
                # "personal", "whatever", and 张三 / 李四 / 王五, the Chinese John Doe.
                "测试", "测试公司", "测试用户", "无", "暂无", "没有", "未知", "不详", "不知道", "某某", "某某公司",
                "某公司", "个人", "随便", "公司", "哈哈", "呵呵", "张三", "李四", "王五"]
# A sales-ops person's tell for a made-up Chinese mobile number: the carriers' sample number.
SAMPLE_PHONES = ["13800138000", "8613800138000"]


def gibberish(name: Column) -> Column:
    """True for keyboard mashes, placeholders (English or Chinese), repeated characters, vowel-less words and
    names with no letter of any script ("123", "...")."""
    n = F.lower(F.trim(name))
    letters = F.regexp_replace(n, "[^a-z]", "")
    return F.coalesce(
        n.isin(*PLACEHOLDERS) | n.rlike(KEYBOARD) | n.rlike(r"(.)\1\1")
        | n.rlike(r"^(test\b|测试)") | ((F.length(letters) >= 4) & ~letters.rlike("[aeiouy]"))
        | ((F.length(n) > 0) & ~n.rlike(r"\p{L}")),
        F.lit(False))


def fake_phone(phone: Column) -> Column:
    """Too short, one digit repeated (all of it, or seven in a row), counting up, or a carrier's sample number."""
    digits = F.regexp_replace(phone, r"\D", "")
    return F.coalesce(
        phone.isNotNull() & ((F.length(digits) < 7) | digits.rlike(r"^(\d)\1+$") | digits.rlike(r"(\d)\1{6}")
                             | digits.rlike("^0?123456") | digits.isin(*SAMPLE_PHONES)),
        F.lit(False))


RULES = (
    # (flag column, weight)
    ("junk_invalid_email", 0.9),
    ("junk_disposable_email", 0.6),
    ("junk_gibberish_name", 0.7),
    ("junk_fake_phone", 0.5),
    ("junk_no_title", 0.3),
    ("junk_bot_like", 0.6),
    # Set at scoring time from the segments (not a model feature).
    ("junk_outlier", 0.3),
)


def junk_flags(leads: DataFrame, *, email_type: Column | None, company: Column | None, person: Column | None,
               phone: Column | None, seniority: Column | None) -> DataFrame:
    """The ``junk_*`` 0/1 columns from whichever identity columns the CRM has."""
    def flag(cond: Column | None) -> Column:
        return F.coalesce(cond, F.lit(False)).cast("double") if cond is not None else F.lit(0.0)

    return leads.select(
        "*",
        flag(email_type == "invalid" if email_type is not None else None).alias("junk_invalid_email"),
        flag(email_type == "disposable" if email_type is not None else None).alias("junk_disposable_email"),
        flag((gibberish(company) if company is not None else F.lit(False))
             | (gibberish(person) if person is not None else F.lit(False))).alias("junk_gibberish_name"),
        flag(fake_phone(phone) if phone is not None else None).alias("junk_fake_phone"),
        flag(seniority == "unknown" if seniority is not None else None).alias("junk_no_title"),
    )


def bot_like(visits: Column, dwell: Column) -> Column:
    """Many page views with almost no time on them."""
    return ((visits >= 5) & (dwell / F.greatest(visits, F.lit(1)) < 2.0)).cast("double")


def junk_signals(scored: DataFrame) -> DataFrame:
    """``junk_score`` in [0, 1] and ``is_junk`` from the fired rules."""
    keep_col = F.lit(1.0)
    for col, weight in RULES:
        value = F.coalesce(F.col(col), F.lit(0.0)) if col in scored.columns else F.lit(0.0)
        keep_col = keep_col * (1 - F.lit(weight) * value)
    score = F.round(1 - keep_col, 4)
    return scored.withColumn("junk_score", score).withColumn("is_junk", score >= JUNK_THRESHOLD)
