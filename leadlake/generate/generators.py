"""Who writes the words: a deterministic template, or any OpenAI-compatible chat completions endpoint.

Both take the same :class:`Request` (what to write, the facts it may use,
the template to fall back on) and return a :class:`Generation`. The
endpoint generator never lets a failure reach the caller: a timeout, a
429 or 5xx after its retries, a spent token budget or an answer that fails
the grounding check all end in the template's text, with ``generator =
"template"``, ``grounded`` saying whether the endpoint's text was
refused for what it claimed, and ``reason`` saying why. The API key is read
from the environment variable conf names, sent only in the Authorization
header, and never logged, stored or put in a prompt.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import logging
import os
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from leadlake.generate.grounding import ungrounded
from leadlake.generate.privacy import masked_facts

log = logging.getLogger("leadlake.generate")

SYSTEM_PROMPT = ("You write short, plain texts for sales, service and marketing teams. Use only the facts you are "
                 "given: never name a product, a number or a date that is not in them. Answer with the text only.")
RETRY_STATUS = {429, 500, 502, 503, 504}


@dataclass(frozen=True)
class Request:
    """One text to write: ``key`` identifies the row it belongs to."""

    key: str
    instruction: str
    facts: Mapping
    template: str


@dataclass(frozen=True)
class Generation:
    key: str
    text: str
    generator: str
    grounded: bool
    reason: str | None = None
    tokens: int = 0
    prompt_hash: str | None = None


class _Facts(dict):
    def __missing__(self, key: str) -> str:
        return ""


def fill_template(template: str, facts: Mapping) -> str:
    """The template with ``{name}`` replaced by the fact of that name (absent facts: empty); lists joined."""
    flat = {k: ", ".join(map(str, v)) if isinstance(v, list | tuple) else ("" if v is None else v)
            for k, v in facts.items()}
    return " ".join(template.format_map(_Facts(flat)).split())


class TemplateGenerator:
    """Offline and deterministic: the request's template filled from its facts."""

    name = "template"

    def generate(self, request: Request) -> Generation:
        return Generation(request.key, fill_template(request.template, request.facts), self.name, True)

    def generate_all(self, requests: Sequence[Request]) -> list[Generation]:
        return [self.generate(r) for r in requests]


@dataclass(frozen=True)
class EndpointSettings:
    """``generate.openai`` in conf."""

    base_url: str | None
    model: str | None
    api_key_env: str
    timeout_s: float
    max_retries: int
    backoff_s: float
    max_tokens: int
    temperature: float
    token_budget: int
    concurrency: int

    def key_from_environment(self) -> str | None:
        return os.environ.get(self.api_key_env)


class TokenBudget:
    """Tokens this run may still spend, shared by the threads of one task."""

    def __init__(self, tokens: int) -> None:
        self.left = tokens
        self._lock = threading.Lock()

    def spend(self, tokens: int) -> None:
        with self._lock:
            self.left -= tokens

    @property
    def spent(self) -> bool:
        return self.left <= 0


class EndpointError(Exception):
    """The endpoint gave no usable answer; the message is the reason recorded with the fallback."""


@dataclass
class ChatCompletionsGenerator:
    """Any OpenAI-compatible ``POST {base_url}/chat/completions`` (Databricks serving, vLLM, Ollama, a cloud API)."""

    settings: EndpointSettings
    products: tuple[str, ...] = ()
    allow_fields: tuple[str, ...] = ()
    budget: TokenBudget | None = None
    fallback: TemplateGenerator = field(default_factory=TemplateGenerator)
    name: str = "openai"
    # Read from ``api_key_env`` on the driver and carried to the executors, whose environment a cluster does
    # not share with the driver's; never printed (repr) or logged.
    api_key: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if not self.settings.base_url or not self.settings.model:
            raise ValueError("generate.openai.base_url and generate.openai.model must be set for the openai generator")
        if self.budget is None:
            self.budget = TokenBudget(self.settings.token_budget)

    def messages(self, request: Request) -> list[dict]:
        facts = masked_facts(request.facts, self.allow_fields)
        user = f"{request.instruction}\n\nFacts (JSON):\n{json.dumps(facts, sort_keys=True, default=str)}"
        return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": user}]

    def prompt_hash(self, request: Request) -> str:
        """The cache key: the exact prompt and the model that answers it."""
        blob = json.dumps({"model": self.settings.model, "messages": self.messages(request)}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()

    def _post(self, body: dict) -> dict:
        s = self.settings
        headers = {"Content-Type": "application/json"}
        key = self.api_key or s.key_from_environment()
        if key:
            headers["Authorization"] = f"Bearer {key}"
        url = s.base_url.rstrip("/") + "/chat/completions"
        last = "no attempt"
        for attempt in range(s.max_retries + 1):
            if attempt:
                time.sleep(s.backoff_s * 2 ** (attempt - 1))
            req = urllib.request.Request(url, json.dumps(body).encode(), headers, method="POST")
            try:
                with urllib.request.urlopen(req, timeout=s.timeout_s) as resp:
                    return json.loads(resp.read().decode("utf-8"))
            except urllib.error.HTTPError as exc:
                last = f"HTTP {exc.code}"
                if exc.code not in RETRY_STATUS:
                    raise EndpointError(f"endpoint refused the request ({last})") from None
            except TimeoutError:
                last = f"no answer within {s.timeout_s:g}s"
            except urllib.error.URLError as exc:
                last = "timed out" if isinstance(exc.reason, TimeoutError) else str(exc.reason)
            except (ValueError, UnicodeDecodeError):
                last = "the answer is not JSON"
            except (http.client.HTTPException, OSError) as exc:
                last = f"connection failed: {type(exc).__name__}"
        raise EndpointError(f"endpoint failed after {s.max_retries + 1} attempts ({last})")

    def generate(self, request: Request) -> Generation:
        digest = self.prompt_hash(request)
        template = self.fallback.generate(request)

        def fall_back(reason: str, grounded: bool = True, tokens: int = 0) -> Generation:
            log.info("generation %s falls back to its template: %s", request.key, reason)
            return Generation(request.key, template.text, "template", grounded, reason, tokens, digest)

        if self.budget.spent:
            return fall_back("token budget of this run spent (generate.openai.token_budget)")
        s = self.settings
        body = {"model": s.model, "messages": self.messages(request), "max_tokens": s.max_tokens,
                "temperature": s.temperature}
        try:
            answer = self._post(body)
            text = str(answer["choices"][0]["message"]["content"]).strip()
        except EndpointError as exc:
            return fall_back(str(exc))
        except (KeyError, IndexError, TypeError):
            return fall_back("the answer has no choices[0].message.content")
        tokens = int((answer.get("usage") or {}).get("total_tokens") or (len(json.dumps(body)) + len(text)) // 4)
        self.budget.spend(tokens)
        if not text:
            return fall_back("the endpoint answered with an empty text", tokens=tokens)
        why = ungrounded(text, request.facts, self.products)
        if why:
            return fall_back(f"not grounded: {why}", grounded=False, tokens=tokens)
        return Generation(request.key, text, self.name, True, None, tokens, digest)

    def generate_all(self, requests: Sequence[Request]) -> list[Generation]:
        """At most ``concurrency`` requests in flight at once (per executor task)."""
        with ThreadPoolExecutor(max_workers=max(1, self.settings.concurrency)) as pool:
            return list(pool.map(self.generate, requests))


def make_generator(kind: str, settings: EndpointSettings | None, products: Iterable[str] = (),
                   allow_fields: Iterable[str] = (), budget: int | None = None, api_key: str | None = None):
    """The generator conf names (``template`` | ``openai``)."""
    if kind == "template":
        return TemplateGenerator()
    if kind == "openai":
        if settings is None:
            raise ValueError("the openai generator needs generate.openai settings")
        return ChatCompletionsGenerator(settings, tuple(products), tuple(allow_fields),
                                        TokenBudget(settings.token_budget if budget is None else budget),
                                        api_key=api_key)
    raise ValueError(f"generate.generator must be template or openai, not {kind!r}")
