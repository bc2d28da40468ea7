"""Responses render as Rasa 3 chooses and fills them: conditions, channels, {slot} values."""

from __future__ import annotations

import random

import pytest

from bot.dialogue.actions import ResponseRenderer
from bot.dialogue.project.model import Domain, ResponseCondition, ResponseVariation


def domain(**responses: list[ResponseVariation]) -> Domain:
    return Domain(intents={}, entities={}, slots={}, forms={}, responses=dict(responses),
                  actions=[])


def slot_is(name: str, value) -> tuple[ResponseCondition, ...]:
    return (ResponseCondition(type="slot", name=name, value=value),)


GREET = [
    ResponseVariation(text="Hello!"),
    ResponseVariation(text="Welcome back, VIP!", condition=slot_is("tier", "gold")),
    ResponseVariation(text="Hi from the widget", channel="socketio"),
    ResponseVariation(text="Gold, on the widget", condition=slot_is("tier", "gold"),
                      channel="socketio"),
]


def texts(renderer: ResponseRenderer, name: str, slots: dict, channel: str | None) -> set[str]:
    return {renderer.render(name, slots, channel)[0]["text"] for _ in range(40)}


def test_a_variation_whose_condition_holds_is_preferred():
    renderer = ResponseRenderer(domain(utter_greet=GREET), random.Random(1))

    assert texts(renderer, "utter_greet", {"tier": "gold"}, "rest") == {"Welcome back, VIP!"}


def test_string_conditions_ignore_case_as_in_rasa():
    renderer = ResponseRenderer(domain(utter_greet=GREET), random.Random(1))

    assert texts(renderer, "utter_greet", {"tier": "Gold"}, None) == {"Welcome back, VIP!"}


def test_without_a_matching_condition_the_unconditional_variation_is_used():
    renderer = ResponseRenderer(domain(utter_greet=GREET), random.Random(1))

    assert texts(renderer, "utter_greet", {"tier": "silver"}, "rest") == {"Hello!"}


def test_a_variation_for_the_current_channel_is_preferred():
    renderer = ResponseRenderer(domain(utter_greet=GREET), random.Random(1))

    assert texts(renderer, "utter_greet", {}, "socketio") == {"Hi from the widget"}
    assert texts(renderer, "utter_greet", {"tier": "gold"}, "socketio") == {
        "Gold, on the widget"}


def test_an_unconditional_channel_variation_beats_a_conditional_one_for_any_channel():
    # Rasa's order: conditional+channel, channel, conditional, the rest.
    renderer = ResponseRenderer(domain(utter_greet=GREET[:3]), random.Random(1))

    assert texts(renderer, "utter_greet", {"tier": "gold"}, "socketio") == {
        "Hi from the widget"}


def test_the_choice_among_equal_variations_follows_the_injected_rng():
    variations = [ResponseVariation(text=f"Hi {n}") for n in range(5)]
    first = ResponseRenderer(domain(utter_hi=variations), random.Random(7))
    second = ResponseRenderer(domain(utter_hi=variations), random.Random(7))

    picks = [first.render("utter_hi", {}, None)[0]["text"] for _ in range(20)]

    assert picks == [second.render("utter_hi", {}, None)[0]["text"] for _ in range(20)]
    assert len(set(picks)) > 1


def test_slots_and_kwargs_fill_the_text_buttons_and_custom_payload():
    renderer = ResponseRenderer(domain(utter_order=[ResponseVariation(
        text="Order {order_id} for {name} ships {when}.",
        buttons=({"title": "Track {order_id}", "payload": '/track{{"id":"{order_id}"}}'},),
        custom={"order": {"id": "{order_id}", "lines": ["{name}"]}},
    )]))

    message = renderer.render("utter_order", {"name": "Ada", "order_id": "A-1"}, None,
                              {"order_id": "B-2", "when": "today"})[0]

    assert message["text"] == "Order B-2 for Ada ships today."  # kwargs win over slots
    assert message["buttons"][0]["title"] == "Track B-2"
    assert message["buttons"][0]["payload"] == '/track{"id":"B-2"}'  # "{{" reads "{", as in Rasa
    assert message["custom"] == {"order": {"id": "B-2", "lines": ["Ada"]}}
    assert message["response"] == "utter_order"


def test_a_placeholder_without_a_value_is_left_as_written():
    renderer = ResponseRenderer(domain(utter_x=[ResponseVariation(text="Hi {name}, {missing}")]))

    assert renderer.render("utter_x", {"name": "Ada"}, None)[0]["text"] == "Hi Ada, {missing}"


def test_a_json_payload_written_with_single_braces_still_gets_its_value():
    renderer = ResponseRenderer(domain(utter_x=[ResponseVariation(
        text="Track it", buttons=({"title": "Track", "payload": '/track{"id":"{order_id}"}'},))]))

    message = renderer.render("utter_x", {"order_id": "A-1"}, None)[0]

    assert message["buttons"][0]["payload"] == '/track{"id":"A-1"}'


def test_rendering_does_not_change_the_domains_variation():
    variation = ResponseVariation(text="Hi {name}", buttons=({"title": "{name}", "payload": "/x"},))
    renderer = ResponseRenderer(domain(utter_x=[variation]))

    renderer.render("utter_x", {"name": "Ada"}, None)

    assert variation.buttons[0]["title"] == "{name}"


def test_images_attachments_and_other_keys_pass_through():
    renderer = ResponseRenderer(domain(utter_pic=[ResponseVariation(
        image="https://shop.example/{sku}.png", attachment={"type": "file"},
        extra={"button_type": "vertical"})]))

    message = renderer.render("utter_pic", {"sku": "mug"}, None)[0]

    assert message == {"image": "https://shop.example/mug.png", "attachment": {"type": "file"},
                       "button_type": "vertical", "response": "utter_pic"}


def test_a_response_the_domain_lacks_is_none_so_the_caller_can_fall_back():
    assert ResponseRenderer(domain()).render("utter_offer_human", {}, None) is None


def test_a_response_with_no_fitting_variation_gives_no_message():
    renderer = ResponseRenderer(domain(utter_vip=[ResponseVariation(
        text="VIP", condition=slot_is("tier", "gold"))]))

    assert renderer.render("utter_vip", {"tier": None}, None) == []


# -- a custom action's dispatcher entries ------------------------------------------------------


def dispatched(**fields) -> dict:
    """What rasa_sdk's CollectingDispatcher.utter_message records."""
    entry = {"text": None, "buttons": [], "elements": [], "custom": {}, "template": None,
             "response": None, "image": None, "attachment": None}
    entry.update(fields)
    if fields.get("response"):
        entry["template"] = fields["response"]
    return entry


def test_a_dispatched_response_name_is_rendered_with_its_kwargs():
    renderer = ResponseRenderer(domain(utter_order=[ResponseVariation(
        text="Order {order_id} is {status}.")]))

    [message] = renderer.render_dispatched(
        dispatched(response="utter_order", order_id="A-1"), {"status": "late"}, "rest")

    assert message["text"] == "Order A-1 is late."
    assert message["response"] == "utter_order"


def test_a_dispatched_message_without_a_name_passes_through():
    renderer = ResponseRenderer(domain())

    [message] = renderer.render_dispatched(
        dispatched(text="Pick one", buttons=[{"title": "A", "payload": "/a"}],
                   custom={"products": [1]}), {}, None)

    assert message == {"text": "Pick one", "buttons": [{"title": "A", "payload": "/a"}],
                       "custom": {"products": [1]}}


def test_a_dispatched_entry_adds_its_buttons_and_overrides_the_text():
    renderer = ResponseRenderer(domain(utter_ask=[ResponseVariation(
        text="Which?", buttons=({"title": "Yes", "payload": "/affirm"},))]))

    [message] = renderer.render_dispatched(
        dispatched(response="utter_ask", text="Which one, then?",
                   buttons=[{"title": "No", "payload": "/deny"}]), {}, None)

    assert message["text"] == "Which one, then?"
    assert [b["title"] for b in message["buttons"]] == ["Yes", "No"]


@pytest.mark.parametrize("key", ["response", "template"])
def test_a_dispatched_name_the_domain_lacks_is_none(key):
    entry = dispatched()
    entry[key] = "utter_nobody_wrote"

    assert ResponseRenderer(domain()).render_dispatched(entry, {}, None) is None
