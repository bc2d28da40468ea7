"""analytics.store.fastjson: orjson on the turn's path, the standard library for what orjson
refuses, and the same data back either way."""

import json
import math

from analytics.store import fastjson


def test_what_orjson_writes_reads_back_as_the_same_data():
    value = {"events": [{"event": "user", "text": "où est ma commande?\n", "n": 3, "x": 0.25,
                         "ok": True, "none": None, "emoji": "📦"}]}
    assert fastjson.loads(fastjson.dumps(value)) == value
    assert json.loads(fastjson.dumps(value)) == value  # any JSON reader reads it
    assert "\n" not in fastjson.dumps(value)  # one journal line stays one line


def test_what_orjson_refuses_goes_through_the_standard_library():
    huge = {"n": 2**70}  # beyond 64 bits
    assert fastjson.loads(fastjson.dumps(huge)) == huge
    assert fastjson.loads(fastjson.dumps({1: "a"})) == {"1": "a"}  # a key that is not a string
    assert math.isnan(fastjson.loads(json.dumps({"x": float("nan")}))["x"])  # json's NaN reads


def test_a_copy_is_deep():
    tracker = {"slots": {"city": "Rome"}, "events": [{"event": "slot", "value": [1, 2]}]}
    copied = fastjson.copy(tracker)
    copied["slots"]["city"] = "Oslo"
    copied["events"][0]["value"].append(3)
    assert tracker == {"slots": {"city": "Rome"}, "events": [{"event": "slot", "value": [1, 2]}]}
    odd = {"when": object()}  # not JSON: copy.deepcopy's copy
    assert fastjson.copy(odd).keys() == {"when"}
