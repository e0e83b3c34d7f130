"""Words for people: one generation layer for every text leadlake writes.

A generator (``template`` offline, or ``openai``: any OpenAI-compatible
chat completions endpoint) writes each text from facts taken from the
tables; every endpoint text is checked against those facts
(:mod:`leadlake.generate.grounding`), personal data is masked before a
prompt leaves (:mod:`leadlake.generate.privacy`), and in Spark every answer
is cached in ``silver.generations`` (:mod:`leadlake.generate.runner`).
"""

from leadlake.generate.generators import (
    ChatCompletionsGenerator,
    EndpointSettings,
    Generation,
    Request,
    TemplateGenerator,
    fill_template,
)
from leadlake.generate.grounding import ungrounded
from leadlake.generate.privacy import masked_facts
from leadlake.generate.runner import generate_texts

__all__ = ["ChatCompletionsGenerator", "EndpointSettings", "Generation", "Request", "TemplateGenerator",
           "fill_template", "generate_texts", "masked_facts", "ungrounded"]
