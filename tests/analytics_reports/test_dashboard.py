"""The dashboard's JSON API, CSV exports and page, over real HTTP against a real database.

The app here registers only the dashboard's routes and log-in (no NLU models needed); the
full server registers the same routes through ``add_dashboard_routes``.
"""

from __future__ import annotations

import csv
import io

import pytest
from aiohttp.test_utils import TestClient, TestServer
from dashboard_app import PASSWORD, add_users, dashboard_app


@pytest.fixture(scope="module")
def users(engine):
    return add_users(engine)


@pytest.fixture
async def client(engine, users, tmp_path):
    async with TestClient(TestServer(dashboard_app(engine, users, tmp_path / "models"))) as c:
        yield c


async def log_in(client: TestClient, username: str) -> None:
    response = await client.post("/auth/login", json={"username": username,
                                                      "password": PASSWORD})
    assert response.status == 200


API_PATHS = ["/api/reports", "/api/reports/metrics", "/api/reports/intents.csv",
             "/api/export/messages.csv"]


@pytest.mark.parametrize("path", API_PATHS)
async def test_anonymous_visitors_are_told_to_log_in(client, path):
    response = await client.get(path)
    assert response.status == 401
    assert "log in" in (await response.json())["error"]


@pytest.mark.parametrize("path", API_PATHS)
async def test_agents_may_not_see_analytics(client, path):
    await log_in(client, "al")
    response = await client.get(path)
    assert response.status == 403
    assert "analyst" in (await response.json())["error"]


async def test_analysts_get_the_metrics(client):
    await log_in(client, "ana")
    response = await client.get("/api/reports/metrics")
    assert response.status == 200
    rows = {r["metric"]: r["value"] for r in (await response.json())["rows"]}
    assert rows["conversations"] == 6 and rows["csat_average"] == 3.0


async def test_admins_are_analysts_too(client):
    await log_in(client, "root")
    assert (await client.get("/api/reports/intents")).status == 200


async def test_report_list_offers_filter_values_and_model_status(client):
    await log_in(client, "ana")
    body = await (await client.get("/api/reports")).json()
    assert "metrics" in [r["name"] for r in body["reports"]]
    assert body["filters"]["channel"] == ["rest", "websocket"]
    assert body["filters"]["segment"] == ["loyal", "new", "anonymous"]
    assert body["models"]["satisfaction"] is None  # never fitted in this models dir


async def test_the_intent_filter_offers_the_intents_customers_expressed(client):
    await log_in(client, "ana")
    body = await (await client.get("/api/reports")).json()
    assert body["filters"]["intent"] == [
        "complaint", "goodbye", "greet", "human_agent", "nlu_fallback", "order_status",
        "return_item", "shipping_info", "thank_you"]


async def test_filters_arrive_as_query_parameters(client):
    await log_in(client, "ana")
    body = await (await client.get("/api/reports/metrics",
                                   params={"channel": "rest", "from": "2026-11-01"})).json()
    assert body["rows"][0]["value"] == 2
    assert body["filters"] == {"from": "2026-11-01", "channel": "rest"}


async def test_sql_in_a_query_parameter_returns_nothing_and_breaks_nothing(client):
    await log_in(client, "ana")
    response = await client.get("/api/reports/intents", params={"intent": "x' OR 1=1 --"})
    assert response.status == 200 and (await response.json())["rows"] == []
    again = await (await client.get("/api/reports/metrics")).json()
    assert again["rows"][0]["value"] == 6


async def test_a_bad_filter_is_a_400_saying_what_to_send(client):
    await log_in(client, "ana")
    response = await client.get("/api/reports/metrics", params={"from": "yesterday"})
    assert response.status == 400
    assert "2026-11-01" in (await response.json())["error"]


async def test_an_unknown_report_is_a_404_listing_the_real_ones(client):
    await log_in(client, "ana")
    response = await client.get("/api/reports/happiness")
    assert response.status == 404
    assert "sentiment-over-time" in (await response.json())["error"]


async def test_any_report_downloads_as_csv(client):
    await log_in(client, "ana")
    response = await client.get("/api/reports/sentiment-by-channel.csv")
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/csv")
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(await response.text())))
    assert {r["channel"]: r["conversations"] for r in rows} == {"rest": "2", "websocket": "4"}


async def test_message_log_export_streams_the_redacted_messages(client):
    await log_in(client, "ana")
    response = await client.get("/api/export/messages.csv", params={"intent": "return_item"})
    assert response.status == 200
    assert response.headers.get("Transfer-Encoding") == "chunked"  # streamed, no length known
    rows = list(csv.DictReader(io.StringIO(await response.text())))
    assert [r["conversation_id"] for r in rows] == ["c4"] * 4  # every message of c4
    assert rows[2]["text"] == "the shoes I sent back three weeks ago!!"


async def test_the_page_and_its_plotly_come_from_this_server(client):
    page = await client.get("/analytics")
    assert page.status == 200
    html = await page.text()
    assert '<script src="/analytics/plotly.min.js">' in html and "cdn" not in html.lower()
    plotly_js = await client.get("/analytics/plotly.min.js")
    assert plotly_js.status == 200 and len(await plotly_js.read()) > 1_000_000
    assert (await client.get("/analytics/analytics.js")).status == 200
