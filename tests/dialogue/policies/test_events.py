"""bot.dialogue.events reads Rasa-format events as Rasa's tracker does."""

from policy_builders import domain, ran, said, session_start, slot_set, text_slot

from bot.dialogue import events as ev
from bot.dialogue.policies.states import past_states, slot_features
from bot.dialogue.project.model import EntityDef, Form, Intent, Slot


def test_states_hold_intent_entities_previous_action_slots_and_loop():
    d = domain(["ask"], ["utter_ok"], slots=[text_slot("city", "city")], entities=["city"],
               forms=[Form("trip_form", ("city",))])
    events = [*said("ask", city="Paris"), slot_set("city", "Paris"), ran("trip_form"),
              {"event": "active_loop", "name": "trip_form"}]
    states = past_states(events, d)
    assert states == [
        {},
        {"user": {"intent": "ask", "entities": ("city",)}, "prev_action": {"action_name": "action_listen"},
         "slots": {"city": (1.0,)}},
        {"user": {"intent": "ask", "entities": ("city",)}, "prev_action": {"action_name": "trip_form"},
         "slots": {"city": (1.0,)}, "active_loop": {"name": "trip_form"}},
    ]


def test_intents_featurise_only_the_entities_their_domain_entry_uses():
    d = domain([Intent("buy", use_entities=("item",)), Intent("chat", ignore_entities=("item",))],
               entities=["item", "colour"])
    buy = past_states(said("buy", item="hat", colour="red"), d)[-1]
    chat = past_states(said("chat", item="hat", colour="red"), d)[-1]
    assert buy["user"]["entities"] == ("item",)
    assert chat["user"]["entities"] == ("colour",)


def test_entity_roles_are_featurised_as_entity_hash_role():
    d = domain(["fly"], entities=[EntityDef("city", roles=("from", "to"))])
    events = [ran("action_listen"), {"event": "user", "parse_data": {
        "intent": {"name": "fly"}, "entities": [{"entity": "city", "value": "Oslo", "role": "to"}]}}]
    assert past_states(events, d)[-1]["user"]["entities"] == ("city", "city#to")


def test_slots_that_do_not_influence_the_conversation_are_not_featurised():
    d = domain(["ask"], slots=[text_slot("note", influence=False), Slot("any_slot", "any")])
    events = [*said("ask"), slot_set("note", "x"), slot_set("any_slot", "y")]
    assert "slots" not in past_states(events, d)[-1]


def test_slot_types_are_featurised_as_rasa_does():
    cases = [
        (Slot("b", "bool"), True, (1.0, 1.0)),
        (Slot("b", "bool"), "false", (1.0, 0.0)),
        (Slot("f", "float", min_value=0, max_value=10), 15, (1.0, 1.0)),
        (Slot("f", "float", min_value=0, max_value=10), 5, (1.0, 0.5)),
        (Slot("l", "list"), [], (0.0,)),
        (Slot("l", "list"), ["a"], (1.0,)),
        (Slot("c", "categorical", values=("Low", "high")), "LOW", (1.0, 0.0, 0.0)),
        (Slot("c", "categorical", values=("low", "high")), "other", (0.0, 0.0, 1.0)),
        (Slot("t", "text"), "", (1.0,)),
    ]
    for slot, value, features in cases:
        assert slot_features(slot, value) == features, (slot.type, value)


def test_initial_values_appear_unless_unset_slots_are_omitted():
    d = domain(["ask"], slots=[Slot("vip", "bool", initial_value=True)])
    assert past_states(said("ask"), d)[-1]["slots"] == {"vip": (1.0, 1.0)}
    assert "slots" not in past_states(said("ask"), d, omit_unset_slots=True)[-1]


def test_a_restart_forgets_everything_before_it():
    d = domain(["greet", "ask"], slots=[text_slot("city")])
    events = [*said("greet"), slot_set("city", "Rome"), ran("action_restart"), {"event": "restart"},
              *said("ask")]
    assert past_states(events, d) == [{}, {"user": {"intent": "ask"}, "prev_action": {"action_name": "action_listen"}}]
    assert ev.view(events, d).slots == {"city": None}


def test_a_session_start_resets_slots_then_carried_slots_are_set_again():
    d = domain(["ask"], slots=[text_slot("city")])
    events = [slot_set("city", "Rome"), *session_start(), slot_set("city", "Rome"), *said("ask")]
    assert ev.current_slots(events, d) == {"city": "Rome"}
    assert past_states(events, d)[0] == {"slots": {"city": (1.0,)}}


def test_a_rewind_takes_back_the_latest_user_message_and_its_listen():
    events = [*said("greet"), ran("utter_greet"), *said("oops"), {"event": "rewind"}]
    assert ev.applied_events(events) == [*said("greet"), ran("utter_greet")]
    assert ev.latest_user_message(events)["parse_data"]["intent"]["name"] == "greet"


def test_an_undo_takes_back_the_latest_action():
    events = [*said("greet"), ran("utter_greet"), ran("utter_more"), {"event": "undo"}]
    assert ev.latest_action_name(events) == "utter_greet"


def test_the_turns_a_loop_consumed_on_its_happy_path_are_not_applied():
    events = [*said("book"), ran("trip_form"), {"event": "active_loop", "name": "trip_form"},
              *said("inform"), slot_set("city", "Oslo"), ran("trip_form")]
    applied = ev.applied_events(events)
    assert [e["event"] for e in applied] == ["action", "user", "action", "active_loop", "slot"]
    # the live tracker still knows the latest message
    assert ev.view(events).latest_intent == "inform"


def test_a_rejected_loop_is_reported_until_the_loop_runs_again():
    events = [*said("book"), ran("trip_form"), {"event": "active_loop", "name": "trip_form"},
              *said("chitchat"), {"event": "action_execution_rejected", "name": "trip_form"}]
    assert ev.view(events).is_active_loop_rejected
    assert not ev.view([*events, ran("trip_form")]).is_active_loop_rejected


def test_turns_of_rules_no_story_contains_are_hidden_from_ml_states():
    d = domain(["help", "affirm"])
    events = [*said("help"), ran("utter_help", hide_rule_turn=True),
              {"event": "action", "name": "action_listen", "hide_rule_turn": True},
              {"event": "user", "parse_data": {"intent": {"name": "affirm"}, "entities": []}}]
    assert past_states(events, d, ignore_rule_only_turns=True) == [
        {}, {"user": {"intent": "affirm"}, "prev_action": {"action_name": "action_listen"}}]
    assert len(past_states(events, d)) == 4


def test_a_followup_event_and_a_restart_schedule_the_next_action():
    assert ev.view([*said("hi"), {"event": "followup", "name": "utter_x"}]).followup_action == "utter_x"
    assert ev.view([*said("hi"), {"event": "restart"}]).followup_action == "action_session_start"
    assert ev.view([*said("hi"), ran("utter_x")]).followup_action is None


def test_the_last_states_alone_are_the_tail_of_all_states():
    """last_past_states (what the RulePolicy featurises live) is past_states' tail, whatever
    the conversation did: slots carried, a restart, a rewind, a loop's happy path."""
    from bot.dialogue.policies.states import last_past_states

    d = domain(["greet", "ask", "book", "inform", "oops"], ["utter_greet", "utter_more"],
               slots=[text_slot("city", "city")], entities=["city"],
               forms=[Form("trip_form", ("city",))])
    conversations = [
        [],
        said("greet"),
        [*said("greet"), ran("utter_greet"), *said("ask", city="Rome"), slot_set("city", "Rome"),
         ran("utter_more"), ran("action_listen"), *said("greet")],
        [*said("greet"), slot_set("city", "Rome"), ran("action_restart"), {"event": "restart"},
         *said("ask")],
        [*said("greet"), ran("utter_greet"), *said("oops"), {"event": "rewind"}, *said("ask")],
        [*said("book"), ran("trip_form"), {"event": "active_loop", "name": "trip_form"},
         *said("inform", city="Oslo"), slot_set("city", "Oslo"), ran("trip_form"),
         {"event": "active_loop", "name": None}, ran("utter_more")],
    ]
    for events in conversations:
        everything = past_states(events, d)
        for last in range(1, len(everything) + 2):
            assert last_past_states(events, d, last) == everything[-last:], (events, last)


def test_the_tracker_grown_event_by_event_is_the_tracker_replayed_from_the_start():
    """ev.view keeps each conversation's latest tracker and applies only the new events:
    every step of a conversation (slots, a form, a rewind, an undo, a restart, a session
    start) gives what a replay of copies of the events gives."""
    import copy

    d = domain(["greet", "ask", "book", "inform", "oops"], ["utter_greet", "utter_more"],
               slots=[text_slot("city", "city")], entities=["city"],
               forms=[Form("trip_form", ("city",))])
    script = [*said("greet"), ran("utter_greet"), *said("book"), ran("trip_form"),
              {"event": "active_loop", "name": "trip_form"}, *said("inform", city="Oslo"),
              slot_set("city", "Oslo"), {"event": "loop_interrupted", "is_interrupted": True},
              ran("trip_form"), {"event": "action_execution_rejected", "name": "trip_form"},
              {"event": "active_loop", "name": None}, *said("oops"), {"event": "rewind"},
              ran("utter_more"), {"event": "undo"}, {"event": "followup", "name": "utter_more"},
              ran("action_restart"), {"event": "restart"}, *session_start(),
              slot_set("city", "Rome"), *said("ask")]
    events: list[dict] = []
    for event in script:
        events.append(event)
        grown = ev.view(events, d)
        replayed = ev.view(copy.deepcopy(events), d)
        assert grown == replayed, events
        grown.slots["city"] = "changed by a caller"  # a caller's change stays the caller's
        assert ev.view(events, d) == replayed
    # another conversation with the same first event but other events after it
    other = [events[0], *said("ask", city="Paris"), slot_set("city", "Paris")]
    assert ev.view(other, d) == ev.view(copy.deepcopy(other), d)
