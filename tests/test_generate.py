"""The generation layer against a real chat completions server on 127.0.0.1, started here."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from leadlake.generate import (
    ChatCompletionsGenerator,
    EndpointSettings,
    Request,
    TemplateGenerator,
    generate_texts,
    masked_facts,
    ungrounded,
)
from leadlake.generate.generators import TokenBudget

from .conftest import make_conf

PRODUCTS = ("Mobile Field Pack", "Quantum Widget Pro", "Premium Support")
TEMPLATE = "Hi {first_name}, here is more on {product}."


class ChatServer:
    """Speaks ``POST /v1/chat/completions``; what it does depends on a ``[mode:...]`` tag in the instruction."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.lock = threading.Lock()
        self.seen: dict[str, int] = {}
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # keep pytest's output clean
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                user = body["messages"][-1]["content"]
                mode = user.split("[mode:", 1)[1].split("]", 1)[0] if "[mode:" in user else "ok"
                with server.lock:
                    server.requests.append({"path": self.path, "body": body,
                                            "auth": self.headers.get("Authorization")})
                    server.seen[user] = server.seen.get(user, 0) + 1
                    attempt = server.seen[user]
                if self.path != "/v1/chat/completions":
                    return self._send(404, {"error": "not found"})
                if mode == "slow":
                    time.sleep(1.5)
                if mode == "500" or (mode == "429once" and attempt == 1):
                    return self._send(500 if mode == "500" else 429, {"error": {"message": mode}})
                facts = json.loads(user.split("Facts (JSON):\n", 1)[1])
                product = facts.get("product") or facts.get("product_name") or "our platform"
                text = (f"You should buy Quantum Widget Pro for 999 dollars, {facts['first_name']}."
                        if mode == "invent" else f"Hello {facts['first_name']}, {product} fits your team.")
                self._send(200, {"id": "x", "object": "chat.completion", "model": body["model"],
                                 "choices": [{"index": 0, "finish_reason": "stop",
                                              "message": {"role": "assistant", "content": text}}],
                                 "usage": {"prompt_tokens": 40, "completion_tokens": 10, "total_tokens": 50}})

            def _send(self, status: int, payload: dict) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def count(self) -> int:
        with self.lock:
            return len(self.requests)


@pytest.fixture(scope="module")
def server():
    srv = ChatServer()
    yield srv
    srv.httpd.shutdown()


def _settings(url: str, **kw) -> EndpointSettings:
    base = dict(base_url=url, model="demo-llm", api_key_env="LEADLAKE_TEST_LLM_KEY", timeout_s=0.5, max_retries=1,
                backoff_s=0.05, max_tokens=100, temperature=0.0, token_budget=10_000, concurrency=2)
    return EndpointSettings(**{**base, **kw})


def _request(key: str, mode: str, **facts) -> Request:
    return Request(key, f"Write a one-line opener. [mode:{mode}]",
                   {"first_name": "Dana", "product": "Mobile Field Pack", **facts}, TEMPLATE)


def test_the_endpoint_answers_retries_times_out_and_is_refused_when_it_invents(server, monkeypatch):
    monkeypatch.setenv("LEADLAKE_TEST_LLM_KEY", "sk-test-secret")
    gen = ChatCompletionsGenerator(_settings(server.url), PRODUCTS)
    ok = gen.generate(_request("ok", "ok"))
    assert ok.generator == "openai" and ok.grounded and ok.reason is None
    assert ok.text == "Hello Dana, Mobile Field Pack fits your team." and ok.tokens == 50
    assert server.requests[-1]["auth"] == "Bearer sk-test-secret"
    assert "sk-test-secret" not in json.dumps(server.requests[-1]["body"]) and "sk-test-secret" not in str(ok)

    before = server.count()
    retried = gen.generate(_request("429", "429once"))
    assert retried.generator == "openai" and server.count() - before == 2  # 429, then the answer

    before = server.count()
    failed = gen.generate(_request("500", "500"))
    assert failed.generator == "template" and failed.text == "Hi Dana, here is more on Mobile Field Pack."
    assert failed.reason == "endpoint failed after 2 attempts (HTTP 500)" and server.count() - before == 2

    slow = gen.generate(_request("slow", "slow"))
    assert (slow.generator == "template" and "0.5s" in slow.reason) or "timed out" in slow.reason

    invented = gen.generate(_request("invent", "invent"))
    assert invented.generator == "template" and invented.grounded is False
    assert invented.reason == "not grounded: names product 'Quantum Widget Pro', which is not in the facts"
    assert invented.text == "Hi Dana, here is more on Mobile Field Pack."


def test_no_email_phone_or_card_reaches_the_endpoint_unless_allowed(server):
    gen = ChatCompletionsGenerator(_settings(server.url), PRODUCTS)
    facts = {"note": "mail dana@acme.io or call +44 20 7946 0958, card 4111 1111 1111 1111", "due": "2026-01-15",
             "amount": "12,500"}
    gen.generate(Request("pii", "Summarise. [mode:ok]", {"first_name": "Dana", "product": "x", **facts}, TEMPLATE))
    sent = json.dumps(server.requests[-1]["body"])
    assert "dana@acme.io" not in sent and "7946" not in sent and "4111" not in sent
    assert "[EMAIL]" in sent and "[PHONE]" in sent and "[CARD]" in sent
    assert "2026-01-15" in sent and "12,500" in sent  # dates and amounts are facts, not personal data
    assert masked_facts({"email": "a@b.co"}, allow=["email"]) == {"email": "a@b.co"}


def test_a_spent_token_budget_falls_back_without_calling(server):
    gen = ChatCompletionsGenerator(_settings(server.url), PRODUCTS, budget=TokenBudget(60))
    assert gen.generate(_request("b1", "ok")).generator == "openai"  # 50 tokens spent, 10 left
    gen.generate(_request("b2", "ok"))  # spends another 50: the budget is now below zero
    before = server.count()
    third = gen.generate(_request("b3", "ok"))
    assert third.generator == "template" and "token budget" in third.reason and server.count() == before


def test_grounding_checks_numbers_dates_and_products():
    facts = {"amount": 12500.0, "date": "2025-11-03", "products": ["Premium Support"]}
    assert ungrounded("Your 12,500 plan renews on 2025-11-03 with Premium Support.", facts, PRODUCTS) is None
    assert ungrounded("Take 2 minutes to reply.", facts, PRODUCTS) is None
    assert "number 15" in ungrounded("Get 15% off today.", facts, PRODUCTS)
    assert "date 2025-12-01" in ungrounded("Renews on 2025-12-01.", facts, PRODUCTS)
    assert "Mobile Field Pack" in ungrounded("Try the Mobile Field Pack.", facts, PRODUCTS)
    assert TemplateGenerator().generate(Request("k", "", {"first_name": None, "product": "X"}, TEMPLATE)).text \
        == "Hi , here is more on X."


def test_in_spark_every_answer_is_cached_and_a_rerun_sends_nothing(spark, tmp_path, server):
    from leadlake.lakehouse import Lakehouse

    conf = make_conf(tmp_path / "lh", generate={"generator": "openai", "openai": {
        "base_url": server.url, "model": "demo-llm", "timeout_s": 2, "max_retries": 1, "backoff_s": 0.05}})
    lh = Lakehouse(spark, conf)
    rows = [(f"L{i}", f"Write an opener. [mode:{'invent' if i == 2 else 'ok'}]",
             json.dumps({"first_name": f"P{i}", "product": "Mobile Field Pack"}), TEMPLATE) for i in range(4)]
    requests = spark.createDataFrame(rows, "key string, instruction string, facts string, template string")
    before = server.count()
    first, report = generate_texts(lh, requests, list(PRODUCTS))
    got = {r.key: r for r in first.collect()}
    assert server.count() - before == 4 and report.sent == 4 and report.from_cache == 0 and report.ungrounded == 1
    assert got["L0"].text == "Hello P0, Mobile Field Pack fits your team." and got["L0"].generator == "openai"
    assert got["L2"].grounded is False and got["L2"].text == "Hi P2, here is more on Mobile Field Pack."
    assert lh.read("silver.generations").count() == 4

    again, report = generate_texts(lh, requests, list(PRODUCTS))
    assert server.count() - before == 4  # nothing sent
    assert report.from_cache == 4 and report.sent == 0
    assert {r.key: (r.text, r.grounded) for r in again.collect()} == {k: (r.text, r.grounded) for k, r in got.items()}
