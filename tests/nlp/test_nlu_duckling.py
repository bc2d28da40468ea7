"""DucklingEntityExtractor: a server when its url answers, else the built-in dimensions,
with values in the shape Rasa passes Duckling's entities to actions."""

import importlib.util
import json
import socket
import threading
from datetime import datetime
from http.server import BaseHTTPRequestHandler, HTTPServer
from zoneinfo import ZoneInfo

import pytest
from rasa_bots import RASA_BOTS

from nlp.components import DucklingSettings
from nlp.duckling import DucklingExtractor

REF = datetime(2024, 5, 15, 10, 30, tzinfo=ZoneInfo("America/Los_Angeles"))  # a Wednesday
PARSING = RASA_BOTS / "financial-demo" / "actions" / "parsing.py"


def dead_url() -> str:
    with socket.socket() as s:  # a port nobody listens on once closed
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture
def offline():
    return DucklingExtractor(DucklingSettings(url=dead_url(), timezone="America/Los_Angeles"))


def only(extractor, text, dim):
    found = [e for e in extractor.extract(text, REF) if e.entity == dim]
    assert len(found) == 1, found
    return found[0]


@pytest.fixture(scope="module")
def parsing():
    if not PARSING.exists():
        pytest.skip(f"{PARSING} not found")
    spec = importlib.util.spec_from_file_location("financial_parsing", PARSING)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_dead_url_falls_back_to_the_built_in_dimensions(offline):
    entity = only(offline, "I want to pay $500 tomorrow", "amount-of-money")
    assert (entity.value, entity.start, entity.end) == (500, 14, 18)
    assert entity.additional_info == {"value": 500, "type": "value", "unit": "$"}
    assert entity.extractor == "DucklingEntityExtractor"


def test_amounts_are_read_as_financial_demo_reads_them(offline, parsing):
    entity = only(offline, "pay Karen 60 euros", "amount-of-money").to_dict()
    assert parsing.parse_duckling_currency(entity) == {
        "amount-of-money": "60.00",
        "currency": "EUR",
    }


def test_a_day_is_a_value_with_a_grain(offline, parsing):
    entity = only(offline, "can I schedule it for tomorrow?", "time")
    assert entity.value == "2024-05-16T00:00:00.000-07:00"
    parsed = parsing.parse_duckling_time(entity.to_dict())
    assert parsed["grain"] == "day" and parsed["time_formatted"] == "Thursday May 16, 2024"


def test_a_month_and_year_give_the_months_start(offline, parsing):
    entity = only(offline, "how much did I earn in January 2019", "time")
    assert entity.value == "2019-01-01T00:00:00.000-08:00"
    interval = parsing.parse_duckling_time_as_interval(entity.to_dict())
    assert interval["end_time"].startswith("2019-02-01")


def test_the_past_n_days_is_an_interval(offline, parsing):
    entity = only(offline, "spending over the past two days", "time")
    assert entity.value == {
        "to": "2024-05-15T00:00:00.000-07:00",
        "from": "2024-05-13T00:00:00.000-07:00",
    }
    assert entity.additional_info["type"] == "interval"
    assert parsing.parse_duckling_time_as_interval(entity.to_dict())["grain"] == "day"


def test_a_weekday_is_the_next_such_day(offline):
    assert only(offline, "pay it on Sunday", "time").value.startswith("2024-05-19")


def test_a_clock_time_joins_its_day(offline):
    entity = only(offline, "call me tomorrow at 5pm", "time")
    assert entity.value == "2024-05-16T17:00:00.000-07:00"
    assert entity.additional_info["grain"] == "hour"


@pytest.mark.parametrize(
    ("text", "dim", "value"),
    [
        ("I have 5000 to spend", "number", 5000),
        ("a hundred and twenty", "number", 120),
        ("mail jo@example.com", "email", "jo@example.com"),
        ("call +1 (555) 123-4567", "phone-number", "+15551234567"),
        ("see https://shop.example.com/help", "url", "https://shop.example.com/help"),
        ("wait for 2 hours", "duration", 2),
    ],
)
def test_the_other_built_in_dimensions(offline, text, dim, value):
    assert only(offline, text, dim).value == value


def test_a_number_inside_an_amount_is_not_reported_twice(offline):
    assert [e.entity for e in offline.extract("send $50 please", REF)] == ["amount-of-money"]


def test_only_the_configured_dimensions_are_reported():
    extractor = DucklingExtractor(DucklingSettings(url=dead_url(), dimensions=["time"]))
    assert [e.entity for e in extractor.extract("pay $50 tomorrow", REF)] == ["time"]


class _Duckling(BaseHTTPRequestHandler):
    """Answers /parse as a Duckling server does (one fixed match)."""

    def do_POST(self):  # noqa: N802 - http.server's naming
        length = int(self.headers["Content-Length"])
        type(self).forms.append(self.rfile.read(length).decode())
        body = json.dumps(
            [
                {"body": "next week", "start": 4, "end": 13, "dim": "time", "latent": False,
                 "value": {"value": "2030-01-07T00:00:00.000Z", "grain": "week", "type": "value"}}
            ]
        ).encode()  # fmt: skip
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_a_duckling_server_that_answers_is_used():
    _Duckling.forms = []
    server = HTTPServer(("127.0.0.1", 0), _Duckling)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}"
        extractor = DucklingExtractor(DucklingSettings(url=url, timezone="Europe/Berlin"))
        [entity] = extractor.extract("pay next week", REF)
    finally:
        server.shutdown()
        server.server_close()
    assert entity.value == "2030-01-07T00:00:00.000Z"  # the server's answer, not the built-in's
    assert "tz=Europe%2FBerlin" in _Duckling.forms[0] and "text=pay+next+week" in _Duckling.forms[0]
