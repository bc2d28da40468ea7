"""Abuse signals scored from a conversation's Rasa events (bot/monitoring/abuse.py)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

from bot.monitoring.abuse import HANDOFF_REASON, AbuseGuard, CustomerHistory, assess
from bot.monitoring.settings import AbuseSettings

SETTINGS = AbuseSettings(refund_intents=("cancel_order", "refund_status"))


def user(text: str, at: float, intent: str = "order_status", **entities: str) -> dict:
    return {"event": "user", "text": text, "timestamp": at,
            "parse_data": {"intent": {"name": intent, "confidence": 0.9},
                           "entities": [{"entity": k, "value": v} for k, v in entities.items()]}}


def bot(at: float) -> dict:
    return {"event": "bot", "text": "...", "timestamp": at}


def slot(name: str, value, at: float) -> dict:
    return {"event": "slot", "name": name, "value": value, "timestamp": at}


def order_lookups(numbers: list[str], *, gap: float = 20.0, found: set[str] = frozenset()
                  ) -> list[dict]:
    """A customer asking for each order in turn, slowly; the action resets unknown ones."""
    events, at = [slot("email", "ana@example.com", 0.0)], 0.0
    for number in numbers:
        at += gap
        events += [user(f"where is order {number}", at, order_id=number),
                   slot("order_id", number, at), {"event": "action", "name": "action_order_status"},
                   slot("order_id", number if number in found else None, at + 0.5), bot(at + 0.5)]
    return events


def test_a_single_mistyped_order_number_is_not_a_signal():
    assert assess(order_lookups(["A10001"]), SETTINGS).score == 0.0


def test_each_order_number_that_matches_nothing_raises_the_enumeration_score():
    scores = [assess(order_lookups([f"A1{i:04d}" for i in range(n)]), SETTINGS).score
              for n in (1, 2, 3, 4)]
    assert scores == sorted(scores) and scores[0] == 0.0 and scores[-1] >= 0.99


def test_enumeration_reaches_hand_over_with_the_reason_in_words():
    assessment = assess(order_lookups([f"A1{i:04d}" for i in range(6)]), SETTINGS)
    assert assessment.level == "hand_over"
    assert any("matched no order" in reason for reason in assessment.reasons)


def test_orders_that_are_found_are_not_counted_against_the_customer():
    numbers = ["A10001", "A10002", "A10003"]
    assert assess(order_lookups(numbers, found=set(numbers)), SETTINGS).level == "none"


def test_many_different_emails_score_even_when_no_slot_is_reset():
    events, at = [], 0.0
    for i in range(9):
        at += 30
        events += [user(f"it's me{i}@example.com", at, email=f"me{i}@example.com"),
                   slot("email", f"me{i}@example.com", at), bot(at + 1)]
    assessment = assess(events, SETTINGS)
    assert assessment.score >= 0.99
    assert any("9 different values given for email" in r for r in assessment.reasons)


def test_messages_faster_than_anyone_types_are_a_signal_but_button_clicks_are_not():
    typed, clicked, at = [], [], 0.0
    for _ in range(8):
        at += 0.3
        typed += [user("a long message that nobody can type in a third of a second", at), bot(at)]
        clicked += [user("/order_status", at), bot(at)]
    assert assess(typed, SETTINGS).score >= 0.99
    assert assess(clicked, SETTINGS).score == 0.0


def test_people_typing_at_a_normal_pace_are_left_alone():
    events, at = [], 0.0
    for _ in range(10):
        at += 12
        events += [user("where is my parcel, it should have come", at), bot(at + 0.5)]
    assert assess(events, SETTINGS).level == "none"


def test_after_an_agent_hands_back_only_what_follows_counts():
    events = order_lookups([f"A1{i:04d}" for i in range(6)]) + [{"event": "resume"}]
    assert assess(events, SETTINGS).level == "none"


def test_refund_requests_beyond_the_customers_orders_do_not_fit_their_history():
    events = [user("cancel it", 30.0 * i, intent="cancel_order") for i in range(1, 5)]
    loyal = CustomerHistory(orders=20, refunds=1)
    newcomer = CustomerHistory(orders=1, refunds=1, flagged=True)
    assert assess(events, SETTINGS, loyal).score == 0.0
    flagged = assess(events, SETTINGS, newcomer)
    assert flagged.score > 0.9 and "flagged by the customer-risk model" in flagged.reasons[0]


def test_the_guard_slows_down_before_it_hands_over():
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    recorded = []
    guard = AbuseGuard(SETTINGS, sleep=sleep, record=lambda cid, a: recorded.append(a.level))
    three = SimpleNamespace(id="c", events=order_lookups(["A10001", "A10002", "A10003"]))
    six = SimpleNamespace(id="c", events=order_lookups([f"A1{i:04d}" for i in range(6)]))
    assert asyncio.run(guard(three)) is None and slept == [SETTINGS.slow_down_seconds]
    assert asyncio.run(guard(six)) == HANDOFF_REASON
    assert recorded == ["slow_down", "hand_over"]


def test_switched_off_it_never_acts():
    off = AbuseSettings(enabled=False)
    assert assess(order_lookups([f"A1{i:04d}" for i in range(9)]), off).level == "none"
