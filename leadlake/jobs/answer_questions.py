"""``leadlake answer-questions``: cited replies to support questions, or escalation -> gold.service_replies."""

from __future__ import annotations

import argparse

from leadlake.generate.answer_questions import answer_questions
from leadlake.text.encoders import encoder_spec


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """No options: everything comes from the conf (service, generate, text)."""


def run(ctx, args: argparse.Namespace) -> int:
    print(answer_questions(ctx.lakehouse, encoder_spec(ctx.conf)))
    return 0
