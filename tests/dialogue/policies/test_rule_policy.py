"""RulePolicy predicts as Rasa's: conditions, conversation start, loops, defaults, fallback."""

import pytest
from policy_builders import (
    act,
    domain,
    loop,
    policies,
    ran,
    rule,
    said,
    slot,
    slot_set,
    story,
    user,
)

from bot.dialogue.policies import InvalidRule, PolicyConfigError, PolicyEnsemble
from bot.dialogue.project.model import Form, Slot

RULES_ONLY = policies("RulePolicy")


def train(stories, d, config=RULES_ONLY):
    return PolicyEnsemble.train(stories, d, config)


def bank_domain():
    return domain(["check_balance", "greet"], ["utter_login_first", "utter_greet", "utter_welcome"],
                  ["action_show_balance"], slots=[Slot("logged_in", "bool")])


def test_a_rule_with_a_slot_condition_applies_only_when_the_slot_matches():
    d = bank_domain()
    ensemble = train([
        rule("balance", user("check_balance"), act("action_show_balance"),
             condition=[slot("logged_in", True)]),
        rule("log in first", user("check_balance"), act("utter_login_first"),
             condition=[slot("logged_in", None)]),
    ], d)
    logged_in = ensemble.predict([slot_set("logged_in", True), *said("check_balance")], d)
    anonymous = ensemble.predict(said("check_balance"), d)
    assert (logged_in.action, logged_in.policy_name, logged_in.confidence) == ("action_show_balance", "RulePolicy", 1.0)
    assert anonymous.action == "utter_login_first"


def test_a_conversation_start_rule_applies_only_to_the_first_message():
    d = bank_domain()
    ensemble = train([
        rule("welcome", user("greet"), act("utter_welcome"), conversation_start=True),
        rule("greet", user("greet"), act("utter_greet")),
    ], d)
    assert ensemble.predict(said("greet"), d).action == "utter_welcome"
    later = [*said("greet"), ran("utter_welcome"), *said("greet")]
    assert ensemble.predict(later, d).action == "utter_greet"


def test_a_rule_listens_after_its_last_action_unless_wait_for_user_input_is_false():
    d = domain(["ask"], ["utter_explain", "utter_more"])
    waits = train([rule("explain", user("ask"), act("utter_explain"))], d)
    flows_on = train([
        rule("explain", user("ask"), act("utter_explain"), wait_for_user_input=False),
        rule("then more", act("utter_explain"), act("utter_more")),
    ], d)
    events = [*said("ask"), ran("utter_explain")]
    assert waits.predict(events, d).action == "action_listen"
    assert flows_on.predict(events, d).action == "utter_more"


def test_a_rule_that_starts_with_an_action_needs_that_action_before_the_message():
    d = domain(["affirm", "greet"], ["utter_offer_person", "utter_greet"], ["action_handoff"])
    ensemble = train([rule("hand off", act("utter_offer_person"), user("affirm"), act("action_handoff"))], d)
    assert ensemble.predict([*said("greet"), ran("utter_offer_person"), *said("affirm")], d).action == "action_handoff"
    assert ensemble.predict([*said("greet"), ran("utter_greet"), *said("affirm")], d).action == "action_default_fallback"


def test_rasa_default_rules_restart_go_back_and_start_sessions():
    d = domain(["greet"], ["utter_greet"])
    ensemble = train([rule("greet", user("greet"), act("utter_greet"))], d)
    assert ensemble.predict(said("restart"), d).action == "action_restart"
    assert ensemble.predict(said("back"), d).action == "action_back"
    assert ensemble.predict(said("session_start"), d).action == "action_session_start"


def trip_domain():
    return domain(["book", "inform", "chitchat"], ["utter_chitchat", "utter_booked"],
                  forms=[Form("trip_form", ("city",))], slots=[Slot("city", "text")])


TRIP_RULES = [
    rule("start the form", user("book"), act("trip_form"), loop("trip_form")),
    rule("chitchat inside the form", user("chitchat"), act("utter_chitchat"), act("trip_form"),
         loop("trip_form"), condition=[loop("trip_form")]),
    rule("submit", act("trip_form"), loop(None), act("utter_booked"), condition=[loop("trip_form")]),
]
IN_FORM = [*said("book"), ran("trip_form"), {"event": "active_loop", "name": "trip_form"}]


def test_an_active_loop_is_predicted_after_each_message_and_listens_after_it_ran():
    d = trip_domain()
    ensemble = train(TRIP_RULES, d)
    assert ensemble.predict(said("book"), d).action == "trip_form"
    assert ensemble.predict(IN_FORM, d).action == "action_listen"
    happy = ensemble.predict([*IN_FORM, *said("inform")], d)
    assert (happy.action, happy.is_no_user_prediction) == ("trip_form", True)


def test_a_rejected_loop_hands_the_turn_to_the_unhappy_path_rules():
    d = trip_domain()
    ensemble = train(TRIP_RULES, d)
    chitchat = [*IN_FORM, *said("chitchat")]
    assert ensemble.predict(chitchat, d).action == "trip_form"  # the form gets the first go
    rejected = [*chitchat, {"event": "action_execution_rejected", "name": "trip_form"}]
    assert ensemble.predict(rejected, d).action == "utter_chitchat"
    assert ensemble.predict([*rejected, ran("utter_chitchat")], d).action == "trip_form"


def test_a_loop_that_ends_with_active_loop_null_runs_the_submit_rule():
    d = trip_domain()
    ensemble = train(TRIP_RULES, d)
    done = [*IN_FORM, *said("inform"), slot_set("city", "Oslo"), ran("trip_form"),
            {"event": "active_loop", "name": None}]
    assert ensemble.predict(done, d).action == "utter_booked"


def test_without_a_matching_rule_the_core_fallback_is_predicted_at_its_threshold():
    d = domain(["greet", "weird"], ["utter_greet", "utter_sorry"])
    config = policies(("RulePolicy", {"core_fallback_threshold": 0.4, "core_fallback_action_name": "utter_sorry"}))
    prediction = train([rule("greet", user("greet"), act("utter_greet"))], d, config).predict(said("weird"), d)
    assert (prediction.action, prediction.confidence) == ("utter_sorry", 0.4)


def test_fallback_prediction_can_be_switched_off():
    d = domain(["greet", "weird"], ["utter_greet"])
    config = policies(("RulePolicy", {"enable_fallback_prediction": False}))
    prediction = train([rule("greet", user("greet"), act("utter_greet"))], d, config).predict(said("weird"), d)
    assert (prediction.action, prediction.confidence) == ("action_listen", 0.0)


def test_a_fallback_action_missing_from_the_domain_is_a_config_error():
    d = domain(["greet"], ["utter_greet"])
    config = policies(("RulePolicy", {"core_fallback_action_name": "utter_nothing"}))
    with pytest.raises(PolicyConfigError, match="utter_nothing"):
        train([rule("greet", user("greet"), act("utter_greet"))], d, config)


def test_rules_with_two_user_messages_are_refused_unless_unrestricted():
    d = domain(["greet", "affirm"], ["utter_greet", "utter_ok"])
    long_rule = rule("state machine", user("greet"), act("utter_greet"), user("affirm"), act("utter_ok"))
    with pytest.raises(InvalidRule, match="state machine"):
        train([long_rule], d)
    relaxed = train([long_rule], d, policies(("RulePolicy", {"restrict_rules": False})))
    assert relaxed.predict([*said("greet"), ran("utter_greet"), *said("affirm")], d).action == "utter_ok"


def test_a_story_contradicting_a_rule_is_a_training_error_naming_both():
    d = domain(["greet"], ["utter_greet", "utter_hello"])
    with pytest.raises(InvalidRule, match="greet rule"):
        train([rule("greet rule", user("greet"), act("utter_greet")),
               story("odd story", user("greet"), act("utter_hello"))], d)


def test_predictions_of_rules_no_story_uses_hide_their_turn():
    d = domain(["greet", "help"], ["utter_greet", "utter_help"])
    ensemble = train([rule("greet", user("greet"), act("utter_greet")),
                      rule("help", user("help"), act("utter_help")),
                      story("help in a story", user("help"), act("utter_help"))], d,
                     policies("RulePolicy", "MemoizationPolicy"))
    assert ensemble.predict(said("greet"), d).hide_rule_turn is True
    assert ensemble.predict(said("help"), d).hide_rule_turn is False
