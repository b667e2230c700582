"""
generate_product_embeddings: the plan's Airflow job, calling the itemvec CLI.

    extract + transform   itemvec run --dry-run   reads the staging table, renders the prompts, counts
                                                   tokens and chunks, reports items to embed and the cost
    embed + load          itemvec run             (one process) or
                          itemvec enqueue --wait  (shards on the itemvec workers, distributed mode)
    verify                itemvec status          no item of the catalog left without a vector

Text nightly, images weekly (two DAGs from one factory). Needs Airflow >= 2.4 and the itemvec CLI
on the workers' PATH (or swap `_itemvec` for a KubernetesPodOperator running the itemvec image).
Secrets come from Airflow Variables (back them with a secrets backend): never put them in the DAG.

Exit codes (README "Exit codes"): 0 ok; 2 usage/config, 5 provider (bad key, no quota, unknown
model), 6 failure rate above the threshold, 8 distributed run failed -> fail the task WITHOUT retry
(retrying cannot fix them, and 6 has already alerted); 1, 3, 4, 7 (unexpected, source, database,
object storage) may be transient -> fail and let Airflow retry. A retried run resumes: what was
loaded is kept and skipped.
"""
from __future__ import annotations

import json
import os
import subprocess
from datetime import datetime, timedelta

from airflow import DAG
from airflow.exceptions import AirflowException, AirflowFailException, AirflowSkipException
from airflow.models import Variable
from airflow.operators.python import PythonOperator

STAGING_TABLE = "analytics.catalog_features_raw"
# Codes a retry cannot fix (see the docstring).
NO_RETRY = {2: "usage or configuration", 5: "embedding provider (key, quota, model)", 6: "failure rate above the alert threshold", 8: "distributed run failed"}
# Above this estimated cost the run waits for a human (USD); the dry run prints the estimate.
COST_BUDGET_USD = float(os.environ.get("ITEMVEC_COST_BUDGET_USD", "50"))


def _env() -> dict[str, str]:
    """The CLI's environment: secrets from Variables, the rest as plain settings."""
    env = dict(os.environ)
    env.update(
        {
            "DATABASE_URL": Variable.get("itemvec_database_url"),
            "OPENAI_API_KEY": Variable.get("itemvec_openai_api_key"),
            # The staging URL below carries no password: pg reads it from PGPASSWORD.
            "PGPASSWORD": Variable.get("itemvec_staging_password"),
            "ITEMVEC_ALERT_WEBHOOK": Variable.get("itemvec_alert_webhook", default_var=""),
            "ITEMVEC_PUSHGATEWAY_URL": Variable.get("itemvec_pushgateway_url", default_var=""),
            "ITEMVEC_PROVIDER": "openai",
            "ITEMVEC_MODEL": "text-embedding-3-large",
            "ITEMVEC_LOG_LEVEL": "info",
        }
    )
    return {k: v for k, v in env.items() if v != ""}


def _itemvec(*args: str) -> dict:
    """Run one itemvec command with --json; its JSON result, or the right Airflow failure."""
    proc = subprocess.run(["itemvec", *args, "--json"], env=_env(), capture_output=True, text=True)
    # Logs are JSON lines on stderr: keep them in the task log.
    print(proc.stderr)
    if proc.returncode in NO_RETRY:
        raise AirflowFailException(f"itemvec {args[0]} exited {proc.returncode}: {NO_RETRY[proc.returncode]} (not retried)\n{proc.stdout}")
    if proc.returncode != 0:
        raise AirflowException(f"itemvec {args[0]} exited {proc.returncode}; Airflow retries, the run resumes where it stopped")
    return json.loads(proc.stdout)


def _source(ti_params: dict) -> list[str]:
    return ["--source", Variable.get("itemvec_staging_url"), "--table", ti_params.get("table", STAGING_TABLE)]


def extract_transform(modality: str, **context) -> dict:
    """Dry run: read the catalog, render and count what changed; skip the rest when nothing did."""
    if modality == "image":
        # Image runs cannot know what changed without fetching (conditional GETs): nothing to plan.
        return {"embedded": None}
    plan = _itemvec("run", "--dry-run", "--modality", modality, *_source(context["params"]))
    print(f"to embed: {plan['embedded']} items, {plan['tokens']} tokens, ~${plan['cost_usd']} in {plan['api_calls']} requests")
    if plan["embedded"] == 0:
        raise AirflowSkipException("no new or changed items")
    if plan["cost_usd"] is not None and plan["cost_usd"] > COST_BUDGET_USD:
        raise AirflowFailException(f"estimated cost ${plan['cost_usd']} is above the budget ${COST_BUDGET_USD}: run it by hand if intended")
    return plan


def embed_load(modality: str, **context) -> dict:
    """Embed and load: one process, or shards on the workers when the DAG param says distributed."""
    common = ["--modality", modality, "--trigger", "airflow", *_source(context["params"])]
    if context["params"].get("distributed"):
        return _itemvec("enqueue", "--wait", "--shards", str(context["params"].get("shards", 16)), *common)
    return _itemvec("run", *common)


def verify(modality: str, **context) -> None:
    status = _itemvec("status")
    pending = [v for v in status["versions"] if v["modality"] == modality and v["status"] == "active" and v["pending"] > 0]
    for v in pending:
        print(f"{v['namespace']} {v['version']}: {v['pending']} of {v['catalog_items']} items without a vector (itemvec failures list)")


def make_dag(dag_id: str, modality: str, schedule: str) -> DAG:
    with DAG(
        dag_id=dag_id,
        schedule=schedule,
        start_date=datetime(2026, 1, 1),
        catchup=False,
        max_active_runs=1,
        params={"table": STAGING_TABLE, "distributed": False, "shards": 16},
        default_args={"retries": 2, "retry_delay": timedelta(minutes=10), "retry_exponential_backoff": True},
        tags=["itemvec", "embeddings"],
    ) as dag:
        plan = PythonOperator(task_id="extract_transform", python_callable=extract_transform, op_kwargs={"modality": modality})
        load = PythonOperator(task_id="embed_load", python_callable=embed_load, op_kwargs={"modality": modality}, execution_timeout=timedelta(hours=12))
        check = PythonOperator(task_id="verify", python_callable=verify, op_kwargs={"modality": modality})
        plan >> load >> check
    return dag


# Text nightly, images weekly (Sunday), as the plan schedules them.
generate_product_embeddings = make_dag("generate_product_embeddings", "text", "0 2 * * *")
generate_product_image_embeddings = make_dag("generate_product_image_embeddings", "image", "0 3 * * 0")
