"""Secrets passed through the environment reach no log, metrics file, dbt artifact, alert or dlt
working file of a run, at DEBUG level and on the failure path too.

Three secrets: a token in the alert webhook's URL, a password in TALLY_SHOP_URL (a URL the
shop pipeline refuses, so the run fails and alerts), and dlt's own
`SOURCES__SHOP__CREDENTIALS`. One failed ingest, one good ingest and `dbt docs generate` (manifest,
catalog, run results, dbt.log) leave the files that are searched.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from faults_helpers import Webhook, make_clean_landing, run_tally, start_webhook, tally_env

pytestmark = pytest.mark.slow

WEBHOOK_TOKEN = "hooktoken-7f3a9c2e51"
SHOP_PASSWORD = "shoppass-Q8v2x9Lm"
DLT_PASSWORD = "dltpass-K4n7r1Zp"
SECRETS = (WEBHOOK_TOKEN, SHOP_PASSWORD, DLT_PASSWORD)


@dataclass(frozen=True)
class Traces:
    root: Path
    webhook: Webhook
    exit_codes: tuple[int, ...]


@pytest.fixture(scope="module")
def traces(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Traces]:
    root = tmp_path_factory.mktemp("secrets")
    landing = make_clean_landing(root / "landing")
    running = start_webhook()
    env = tally_env(
        root,
        TALLY_ALERT_WEBHOOK=running.webhook.url.replace("alerts", WEBHOOK_TOKEN),
        SOURCES__SHOP__CREDENTIALS=f"postgresql://loader:{DLT_PASSWORD}@127.0.0.1:1/shop",
    )
    shop_db = (landing / "shop" / "shop.db").resolve()
    refused = {**env, "TALLY_SHOP_URL": f"sqlite://reader:{SHOP_PASSWORD}@/{shop_db}"}
    codes = (
        run_tally(["--log-level", "DEBUG", "ingest"], refused).returncode,
        run_tally(["--log-level", "DEBUG", "ingest"], env).returncode,
        run_tally(["--log-level", "DEBUG", "docs"], env).returncode,
    )
    yield Traces(root, running.webhook, codes)
    running.server.shutdown()


def test_the_runs_happened_and_the_failure_alerted(traces: Traces) -> None:
    assert traces.exit_codes[0] == 3, "the shop URL is refused: the ingest step fails"
    assert traces.exit_codes[1:] == (0, 0)
    assert traces.webhook.bodies, "the failed run alerted through the webhook with the token"


@pytest.mark.parametrize(
    "place",
    ["logs", "target", "wh/dlt", "logs/tally.prom"],
    ids=["run and dbt logs", "dbt artifacts", "dlt working files", "metrics"],
)
def test_no_secret_is_written_to(traces: Traces, place: str) -> None:
    searched = traces.root / place
    files = [searched] if searched.is_file() else [p for p in searched.rglob("*") if p.is_file()]
    assert files, f"nothing was written to `{place}`: the test would prove nothing"
    for path in files:
        content = path.read_bytes()
        for secret in SECRETS:
            assert secret.encode() not in content, f"`{secret}` found in {path}"


def test_no_secret_is_sent_in_an_alert(traces: Traces) -> None:
    for body in traces.webhook.bodies:
        for secret in SECRETS:
            assert secret not in str(body)
