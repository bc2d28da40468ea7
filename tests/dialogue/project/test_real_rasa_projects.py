"""The two real Rasa projects load unchanged, into the shapes the dialogue core relies on."""

from __future__ import annotations

from pathlib import Path

from rasa_project_helpers import line_of

from bot.dialogue.project import load_project
from bot.dialogue.project.model import (
    ActionStep,
    ActiveLoopStep,
    MappingCondition,
    SlotStep,
    UserStep,
)


def by_name(stories, name):
    found = [s for s in stories if s.name == name]
    assert len(found) == 1, [s.name for s in stories]
    return found[0]


def test_rasa_init_loads_its_stories_rules_and_test_stories(rasa_init: Path):
    project = load_project(rasa_init)
    assert [s.name for s in project.training_stories] == ["happy path", "sad path 1",
                                                          "sad path 2"]
    assert [r.name for r in project.rules] == [
        "Say goodbye anytime the user says goodbye", "Say 'I am a bot' anytime the user challenges"]
    assert len(project.test_stories) == 7
    assert project.nlu_files == [rasa_init / "data" / "nlu.yml"]
    assert project.warnings == []


def test_rasa_init_config_keeps_recipe_and_assistant_id_with_empty_pipeline(rasa_init: Path):
    config = load_project(rasa_init).config
    assert (config.recipe, config.language, config.assistant_id) == (
        "default.v1", "en", "placeholder_default")
    assert config.pipeline == [] and config.policies == []  # only comments: Rasa's defaults
    assert config.max_history() == 5


def test_rasa_defaults_are_added_to_the_domain(rasa_init: Path):
    domain = load_project(rasa_init).domain
    assert {"restart", "back", "out_of_scope", "session_start", "nlu_fallback"} <= set(domain.intents)
    assert {"action_listen", "action_restart", "action_session_start", "utter_greet"} <= set(
        domain.action_names)
    assert domain.slots["session_started_metadata"].type == "any"
    assert "requested_slot" not in domain.slots  # Rasa adds it only to domains with forms
    assert (domain.session_config.expiration_minutes,
            domain.session_config.carry_over_slots) == (60.0, True)


def test_a_story_is_a_straight_line_of_user_and_action_steps(rasa_init: Path):
    story = by_name(load_project(rasa_init).stories, "sad path 1")
    assert [(type(s).__name__, getattr(s, "intent", None) or getattr(s, "name", None))
            for s in story.steps] == [
        ("UserStep", "greet"), ("ActionStep", "utter_greet"), ("UserStep", "mood_unhappy"),
        ("ActionStep", "utter_cheer_up"), ("ActionStep", "utter_did_that_help"),
        ("UserStep", "affirm"), ("ActionStep", "utter_happy")]
    stories = rasa_init / "data" / "stories.yml"
    assert story.source.path == stories
    assert story.steps[3].source.line == line_of(stories, "utter_cheer_up")


def test_test_story_messages_keep_their_text_and_intent(rasa_init: Path):
    story = by_name(load_project(rasa_init).test_stories, "happy path 1")
    assert story.kind == "test"
    assert story.steps[0] == UserStep(intent="greet", entities=(), text="hello there!",
                                      source=story.steps[0].source)


def test_financial_demo_counts_after_or_expansion(financial_demo: Path):
    project = load_project(financial_demo)
    assert len(project.training_stories) == 34  # 19 stories, 15 "or" alternatives more
    assert len(project.rules) == 21  # 20 rules, one "or" of two intents
    assert len(project.test_stories) == 48
    assert sorted(p.name for p in project.story_files) == [
        "rules.yml", "rules_handoff.yml", "stories.yml", "stories_switch_from_pay_credit_card.yml",
        "stories_switch_from_search_transactions.yml", "stories_switch_from_transfer_money.yml"]


def test_an_or_step_becomes_one_story_per_alternative(financial_demo: Path):
    stories = [s for s in load_project(financial_demo).stories if s.name.startswith(
        "pay credit card + switch to search transactions or transfer money, deny")]
    assert [s.steps[3].intent for s in stories] == [
        "search_transactions", "check_earnings", "transfer_money"]
    assert stories[0].name.endswith("(or: search_transactions)")
    # apart from the alternative, the stories are the same steps
    assert [s.steps[:3] + s.steps[4:] for s in stories[1:]] == [stories[0].steps[:3]
                                                                + stories[0].steps[4:]] * 2


def test_rules_keep_their_conditions(financial_demo: Path):
    rules = load_project(financial_demo).rules
    submit = by_name(rules, "Submit cc_payment_form while not switched from previous form")
    assert [(type(c).__name__, getattr(c, "name", None) or getattr(c, "slots", None))
            for c in submit.condition] == [
        ("ActiveLoopStep", "cc_payment_form"), ("SlotStep", (("previous_form_name", None),))]
    assert submit.steps[:2] == [ActionStep("cc_payment_form", submit.steps[0].source),
                                ActiveLoopStep(None, submit.steps[1].source)]
    activate = [r for r in rules if r.name.startswith("Activate transaction_search_form")]
    assert [r.steps[0].intent for r in activate] == ["search_transactions", "check_earnings"]
    assert all(r.condition[0].name is None for r in activate)  # active_loop: null
    assert all(r.wait_for_user_input and not r.conversation_start for r in rules)


def test_a_rule_that_starts_with_an_action_keeps_it_first(financial_demo: Path):
    rule = by_name(load_project(financial_demo).rules, "Execute handoff")
    assert [type(s).__name__ for s in rule.steps] == ["ActionStep", "UserStep", "ActionStep"]


def test_test_story_annotations_become_plain_text_and_entities(financial_demo: Path):
    story = by_name(load_project(financial_demo).test_stories,
                    "Show specific credit card account balance")
    step = story.steps[0]
    assert step.text == "What's my emblem card balance"
    assert [(e["entity"], e["value"], step.text[e["start"]:e["end"]]) for e in step.entities] == [
        ("credit_card", "emblem", "emblem"), ("account_type", "credit", "card"),
        ("amount-of-money", "current balance", "balance")]


def test_slot_mappings_keep_types_intents_values_and_conditions(financial_demo: Path):
    slots = load_project(financial_demo).domain.slots
    affirm = slots["AA_CONTINUE_FORM"].mappings[0]
    assert (affirm.type, affirm.intent, affirm.value) == ("from_intent", ("affirm",), "yes")
    assert affirm.conditions == (
        MappingCondition("cc_payment_form", "AA_CONTINUE_FORM"),
        MappingCondition("transfer_money_form", "AA_CONTINUE_FORM"),
        MappingCondition("transaction_search_form", "AA_CONTINUE_FORM"))
    amount = slots["amount-of-money"].mappings[0]
    assert (amount.entity, amount.not_intent) == ("amount-of-money",
                                                  ("check_balance", "check_earnings"))
    search = slots["search_type"].mappings
    assert [(m.type, m.intent, m.value) for m in search[:2]] == [
        ("from_trigger_intent", ("search_transactions",), "spend"),
        ("from_trigger_intent", ("check_earnings",), "deposit")]
    assert search[2].conditions == (MappingCondition("transaction_search_form"),)
    assert slots["currency"].initial_value == "$"
    assert not slots["currency"].influence_conversation


def test_slot_mapping_values_are_read_as_yaml_1_2(financial_demo: Path):
    # Rasa reads YAML 1.2: "value: yes" is the text "yes", not the boolean True
    deny = load_project(financial_demo).domain.slots["zz_confirm_form"].mappings[1]
    assert deny.value == "no"


def test_the_raw_domain_is_what_an_action_server_gets(financial_demo: Path):
    raw = load_project(financial_demo).domain.raw
    assert raw["forms"]["cc_payment_form"]["required_slots"][0] == "AA_CONTINUE_FORM"
    assert raw["slots"]["search_type"]["mappings"][0]["type"] == "from_trigger_intent"
    assert raw["session_config"] == {"session_expiration_time": 0.0,
                                     "carry_over_slots_to_new_session": True}
    assert {"transfer_money": {"use_entities": []}} in raw["intents"]


def test_forms_intents_and_overridden_default_actions(financial_demo: Path):
    domain = load_project(financial_demo).domain
    assert domain.forms["transfer_money_form"].required_slots == (
        "AA_CONTINUE_FORM", "PERSON", "amount-of-money", "zz_confirm_form")
    assert domain.intents["transfer_money"].use_entities == ()
    assert domain.used_entities("check_balance") == {"credit_card", "account_type"}
    assert domain.used_entities("transfer_money") == set()
    assert domain.overridden_default_actions == ["action_session_start", "action_restart",
                                                 "action_handoff"]
    assert domain.session_config.expiration_minutes == 0.0


def test_policies_keep_their_options_and_lines(financial_demo: Path):
    config = load_project(financial_demo).config
    rule_policy = config.policy("RulePolicy")
    assert rule_policy.options == {"core_fallback_threshold": 0.4,
                                   "core_fallback_action_name": "action_default_fallback",
                                   "enable_fallback_prediction": True}
    assert rule_policy.source.line == line_of(financial_demo / "config.yml", "name: RulePolicy")
    duckling = [c for c in config.pipeline if c.name == "DucklingEntityExtractor"][0]
    assert duckling.options["dimensions"] == ["amount-of-money", "time", "number"]


def test_endpoints_and_credentials(financial_demo: Path):
    project = load_project(financial_demo)
    assert project.endpoints.action_endpoint_url == "http://localhost:5056/webhook"
    assert project.endpoints.other == {}
    assert project.credentials == {"rest": {}, "rasa": {"url": "http://localhost:5002/api"}}
    assert project.actions_package == financial_demo / "actions"


def test_story_steps_set_slots_with_values(financial_demo: Path):
    story = [s for s in load_project(financial_demo).stories
             if s.name.startswith("pay credit card + switch to transfer money, affirm")][0]
    slot_steps = [s.slots for s in story.steps if isinstance(s, SlotStep)]
    assert slot_steps[0] == (("next_form_name", "transfer_money_form"),)
