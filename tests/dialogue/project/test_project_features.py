"""Rasa features the real projects do not all use: a domain/ folder, checkpoints, retrieval
intents, Rasa 2.x forms, response variations, endpoints and credentials."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import yaml
from rasa_project_helpers import line_of, replace_in

from bot.dialogue.project import load_project
from bot.dialogue.project.model import MappingCondition, ResponseCondition, UserStep
from bot.dialogue.project.yamlio import RasaYamlLoader
from nlp.yamlfile import BotFileError


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip())
    return path


def split_domain(project: Path) -> Path:
    """Move domain.yml into domain/ as three files, the way teams split big domains."""
    data = yaml.load((project / "domain.yml").read_text(), Loader=RasaYamlLoader)
    (project / "domain.yml").unlink()
    folder = project / "domain"
    parts = {
        "core.yml": ("version", "session_config", "intents", "entities"),
        "forms/slots.yml": ("slots", "forms"),
        "responses.yml": ("responses", "actions"),
    }
    for name, keys in parts.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump({k: data[k] for k in keys if k in data}, sort_keys=False))
    return folder


def test_a_domain_folder_merges_to_the_same_domain_as_one_file(financial_demo: Path, tmp_path):
    single = load_project(financial_demo).domain
    folder = split_domain(financial_demo)
    merged = load_project(financial_demo)
    assert sorted(p.relative_to(folder).as_posix() for p in merged.domain_files) == [
        "core.yml", "forms/slots.yml", "responses.yml"]
    domain = merged.domain
    assert (domain.intents, domain.entities, domain.slots, domain.forms, domain.responses,
            domain.actions, domain.session_config) == (
        single.intents, single.entities, single.slots, single.forms, single.responses,
        single.actions, single.session_config)
    assert domain.source("slot", "PERSON").path == folder / "forms" / "slots.yml"


def test_a_response_in_two_domain_files_keeps_the_first_and_warns(rasa_init: Path):
    (rasa_init / "domain.yml").rename(rasa_init / "main.yml")
    (rasa_init / "domain").mkdir()
    (rasa_init / "main.yml").rename(rasa_init / "domain" / "a_main.yml")
    second = write(rasa_init / "domain" / "b_extra.yml", """
        responses:
          utter_greet:
          - text: "Hello from the second file"
          utter_extra:
          - text: "Only here"
        """)
    project = load_project(rasa_init)
    assert project.domain.responses["utter_greet"][0].text == "Hey! How are you?"
    assert project.domain.responses["utter_extra"][0].text == "Only here"
    assert project.warnings == [
        f"{second}:2: response 'utter_greet' is also defined in "
        f"{rasa_init / 'domain' / 'a_main.yml'}:{line_of(rasa_init / 'domain' / 'a_main.yml', 'utter_greet:')}"
        "; the first one is used, remove the other"]


def test_checkpoints_join_stories_into_one_per_path(rasa_init: Path):
    write(rasa_init / "data" / "stories.yml", """
        version: "3.1"
        stories:
        - story: ask mood
          steps:
          - intent: greet
          - action: utter_greet
          - checkpoint: asked_mood
        - story: happy
          steps:
          - checkpoint: asked_mood
          - intent: mood_great
          - action: utter_happy
        - story: sad
          steps:
          - checkpoint: asked_mood
          - intent: mood_unhappy
          - action: utter_cheer_up
          - checkpoint: cheered
          - action: utter_did_that_help
        """)
    stories = load_project(rasa_init).training_stories
    assert [s.name for s in stories] == ["ask mood > happy", "ask mood > sad"]
    assert [s.name if hasattr(s, "name") else s.intent for s in stories[1].steps] == [
        "greet", "utter_greet", "mood_unhappy", "utter_cheer_up", "utter_did_that_help"]


def test_a_checkpoint_nobody_continues_is_a_warning(rasa_init: Path):
    stories = rasa_init / "data" / "stories.yml"
    replace_in(stories, "  - action: utter_happy\n", "  - action: utter_happy\n"
                                                      "  - checkpoint: nowhere\n")
    project = load_project(rasa_init)
    assert project.warnings == [f"{stories}:{line_of(stories, 'checkpoint: nowhere')}: "
                                "checkpoint 'nowhere' leads nowhere: no story starts with it"]
    assert by_name_count(project, "happy path") == 1


def by_name_count(project, name):
    return sum(1 for s in project.stories if s.name == name)


def test_rules_cannot_use_checkpoints(rasa_init: Path):
    rules = rasa_init / "data" / "rules.yml"
    replace_in(rules, "  - action: utter_goodbye\n", "  - action: utter_goodbye\n"
                                                      "  - checkpoint: x\n")
    with pytest.raises(BotFileError) as error:
        load_project(rasa_init)
    assert str(error.value).startswith(f"{rules}:{line_of(rules, 'checkpoint: x')}: "
                                       "'checkpoint' steps are not allowed in rule")


def test_retrieval_intents_are_answered_by_their_responses(rasa_init: Path):
    nlu = rasa_init / "data" / "nlu.yml"
    nlu.write_text(nlu.read_text() + textwrap.dedent("""
        - intent: faq/ask_price
          examples: |
            - how much does it cost
            - what is the price
        - intent: faq/ask_hours
          examples: |
            - when are you open
        """))
    replace_in(rasa_init / "domain.yml", "responses:\n", textwrap.dedent("""\
        responses:
          utter_faq/ask_price:
          - text: "It costs 5 euros."
          utter_faq/ask_hours:
          - text: "We are open 9 to 5."
        """))
    write(rasa_init / "data" / "faq_rules.yml", """
        rules:
        - rule: answer faqs
          steps:
          - intent: faq
          - action: utter_faq
        """)
    domain = load_project(rasa_init).domain
    assert domain.intents["faq"].is_retrieval_intent  # added as Rasa adds it
    assert domain.retrieval_intents == ["faq"]
    assert "utter_faq" in domain.action_names
    assert list(domain.retrieval_responses("faq")) == ["utter_faq/ask_price", "utter_faq/ask_hours"]


def test_rasa2_form_mappings_become_conditioned_slot_mappings(rasa_init: Path):
    domain = rasa_init / "domain.yml"
    domain.write_text(domain.read_text() + textwrap.dedent("""
        entities:
          - cuisine
        slots:
          cuisine:
            type: text
          guests:
            type: float
            max_value: 20
        forms:
          restaurant_form:
            required_slots:
              cuisine:
                - type: from_entity
                  entity: cuisine
              guests:
                - type: from_text
        """))
    replace_in(domain, "responses:\n", "responses:\n  utter_ask_cuisine:\n  - text: Cuisine?\n"
                                       "  utter_ask_guests:\n  - text: How many?\n")
    project = load_project(rasa_init)
    slots = project.domain.slots
    # Rasa 2 filled slots from the entity of the same name
    assert slots["cuisine"].mappings[0].type == "from_entity"
    assert slots["cuisine"].mappings[0].conditions == ()
    assert slots["cuisine"].mappings[1].conditions == (MappingCondition("restaurant_form"),)
    assert slots["guests"].mappings[0].type == "custom"
    assert slots["guests"].mappings[1].conditions == (
        MappingCondition("restaurant_form", "guests"),)
    assert project.domain.forms["restaurant_form"].required_slots == ("cuisine", "guests")
    assert "requested_slot" in slots and not slots["requested_slot"].influence_conversation
    assert any("slot 'cuisine' has no mappings (Rasa 2.x)" in w for w in project.warnings)


def test_response_variations_keep_conditions_channels_buttons_and_extras(rasa_init: Path):
    domain = rasa_init / "domain.yml"
    replace_in(domain, "responses:\n", textwrap.dedent("""\
        slots:
          vip:
            type: bool
            mappings:
            - type: custom
        responses:
          utter_welcome:
          - condition:
            - type: slot
              name: vip
              value: true
            text: "Welcome back, valued customer!"
          - channel: socketio
            text: "Welcome!"
            buttons:
            - title: Start
              payload: /greet
            button_type: vertical
          - custom:
              blocks: [1, 2]
        """))
    variations = load_project(rasa_init).domain.responses["utter_welcome"]
    assert variations[0].condition == (ResponseCondition("slot", "vip", True),)
    assert (variations[1].channel, variations[1].buttons, variations[1].extra) == (
        "socketio", ({"title": "Start", "payload": "/greet"},), {"button_type": "vertical"})
    assert variations[2].custom == {"blocks": [1, 2]} and variations[2].text is None
    image = load_project(rasa_init).domain.responses["utter_cheer_up"][0].image
    assert image == "https://i.imgur.com/nGF1K8f.jpg"


def test_actions_with_send_domain_and_forms_listed_as_actions(rasa_init: Path):
    replace_in(rasa_init / "domain.yml", "responses:\n", textwrap.dedent("""\
        actions:
          - action_check_weather:
              send_domain: true
          - action_hello
          - utter_greet
        responses:
        """))
    domain = load_project(rasa_init).domain
    assert domain.actions == ["action_check_weather", "action_hello"]  # a response stays one
    assert domain.send_domain == {"action_check_weather"}


def test_entities_keep_roles_groups_and_influence(rasa_init: Path):
    replace_in(rasa_init / "domain.yml", "responses:\n", textwrap.dedent("""\
        entities:
          - city:
              roles: [departure, destination]
          - topping:
              groups: ["1", "2"]
          - user_name:
              influence_conversation: false
        responses:
        """))
    domain = load_project(rasa_init).domain
    assert domain.entities["city"].roles == ("departure", "destination")
    assert domain.entities["topping"].groups == ("1", "2")
    assert not domain.entities["user_name"].influence_conversation
    assert "city#departure" in domain.used_entities("greet")
    assert "user_name" not in domain.used_entities("greet")


def test_story_entities_in_each_rasa_form(rasa_init: Path):
    replace_in(rasa_init / "data" / "stories.yml", "  - intent: mood_great\n",
               "  - intent: mood_great\n"
               "    entities:\n"
               "    - city: Berlin\n"
               "      role: destination\n"
               "    - mood\n"
               "    - entity: topping\n"
               "      value: cheese\n"
               "      group: '1'\n")
    step = load_project(rasa_init).training_stories[0].steps[2]
    assert isinstance(step, UserStep)
    assert step.entities == ({"entity": "city", "value": "Berlin", "role": "destination"},
                             {"entity": "mood"},
                             {"entity": "topping", "value": "cheese", "group": "1"})


def test_test_story_annotations_with_role_and_group(rasa_init: Path):
    replace_in(rasa_init / "tests" / "test_stories.yml", "hello there!",
               'fly from [Berlin]{"entity": "city", "role": "departure"} to [LA](city:Los Angeles)')
    step = load_project(rasa_init).test_stories[0].steps[0]
    assert step.text == "fly from Berlin to LA"
    assert step.entities == (
        {"entity": "city", "value": "Berlin", "role": "departure", "start": 9, "end": 15},
        {"entity": "city", "value": "Los Angeles", "start": 19, "end": 21})


def test_unsupported_channels_are_one_warning_each(rasa_init: Path):
    credentials = rasa_init / "credentials.yml"
    credentials.write_text(credentials.read_text() + "slack:\n  slack_token: x\nsocketio:\n")
    project = load_project(rasa_init)
    assert project.credentials == {"rest": {}, "rasa": {"url": "http://localhost:5002/api"},
                                   "socketio": {}}
    assert project.warnings == [
        f"{credentials}:{line_of(credentials, 'slack:')}: not supported by Carebot: slack "
        "(Carebot serves rest, socketio); remove it or connect that platform through the REST "
        "channel"]


def test_endpoints_expand_environment_variables_and_report_unused_sections(rasa_init: Path):
    endpoints = rasa_init / "endpoints.yml"
    # tracker_store is read with Carebot's settings (tests/broker); nlg is not used
    endpoints.write_text('action_endpoint:\n  url: "http://${ACTIONS_HOST}:5055/webhook"\n'
                         "  token: secret\nnlg:\n  url: http://nlg:5056\n"
                         "tracker_store:\n  type: sql\n")
    project = load_project(rasa_init, env={"ACTIONS_HOST": "actions.internal"})
    assert project.endpoints.action_endpoint_url == "http://actions.internal:5055/webhook"
    assert project.endpoints.action_endpoint_token == "secret"
    assert project.endpoints.other == {"nlg": {"url": "http://nlg:5056"},
                                       "tracker_store": {"type": "sql"}}
    assert project.warnings == [f"{endpoints}:4: 'nlg' is not used by Carebot, which "
                                "keeps conversations in its own database "
                                "(CAREBOT_DATABASE_URL); remove it to silence this"]
    with pytest.raises(BotFileError, match=rf"^{endpoints}:2: environment variable "
                                           "'ACTIONS_HOST' is not set"):
        load_project(rasa_init, env={})


def test_a_rule_with_conversation_start_and_no_wait(rasa_init: Path):
    rules = rasa_init / "data" / "rules.yml"
    rules.write_text(rules.read_text() + textwrap.dedent("""
        - rule: greet first
          conversation_start: true
          wait_for_user_input: false
          steps:
          - intent: greet
          - action: utter_greet
        """))
    rule = [r for r in load_project(rasa_init).rules if r.name == "greet first"][0]
    assert rule.conversation_start and not rule.wait_for_user_input


def test_training_data_at_any_depth_and_mixed_files(rasa_init: Path):
    (rasa_init / "data" / "stories.yml").rename(rasa_init / "data" / "deep.yml")
    deep = rasa_init / "data" / "core" / "more" / "stories.yml"
    deep.parent.mkdir(parents=True)
    (rasa_init / "data" / "deep.yml").rename(deep)
    write(rasa_init / "data" / "mixed.yml", """
        nlu:
        - intent: greet
          examples: |
            - howdy
        stories:
        - story: howdy
          steps:
          - intent: greet
          - action: utter_greet
        """)
    project = load_project(rasa_init)
    assert project.story_files == [deep, rasa_init / "data" / "mixed.yml",
                                   rasa_init / "data" / "rules.yml"]
    assert rasa_init / "data" / "mixed.yml" in project.nlu_files
    assert len(project.training_stories) == 4


def test_a_test_message_written_as_an_intent_payload_gives_its_entities(rasa_init: Path):
    replace_in(rasa_init / "tests" / "test_stories.yml", "hello there!",
               '/greet{"name": "Ada"}')
    step = load_project(rasa_init).test_stories[0].steps[0]
    assert (step.intent, step.entities) == ("greet", ({"entity": "name", "value": "Ada"},))


def test_an_or_of_slot_values_and_a_checkpoint_that_needs_a_slot_value(rasa_init: Path):
    replace_in(rasa_init / "domain.yml", "responses:\n", textwrap.dedent("""\
        slots:
          mood:
            type: categorical
            values: [good, bad]
            mappings:
            - type: custom
        responses:
        """))
    write(rasa_init / "data" / "stories.yml", """
        stories:
        - story: set mood
          steps:
          - intent: greet
          - action: utter_greet
          - or:
            - slot_was_set:
              - mood: good
            - slot_was_set:
              - mood: bad
          - checkpoint: mood_known
        - story: bad mood
          steps:
          - checkpoint: mood_known
            slot_was_set:
            - mood: bad
          - action: utter_cheer_up
        """)
    stories = load_project(rasa_init).training_stories
    assert [s.name for s in stories] == ["set mood (or: mood='good')",
                                         "set mood > bad mood (or: mood='bad')"]


def test_a_story_with_too_many_combinations_is_refused(rasa_init: Path):
    alternatives = "  - or:\n    - intent: affirm\n    - intent: deny\n    - intent: greet\n"
    write(rasa_init / "data" / "stories.yml",
          "stories:\n- story: explosion\n  steps:\n" + alternatives * 9)
    with pytest.raises(BotFileError, match=r"story 'explosion' has 19683 combinations of 'or' "
                                           r"alternatives and checkpoints \(more than 10000\)"):
        load_project(rasa_init)


def test_domain_yml_wins_over_a_domain_folder(rasa_init: Path):
    write(rasa_init / "domain" / "extra.yml", "intents:\n  - ignored_intent\n")
    project = load_project(rasa_init)
    assert "ignored_intent" not in project.domain.intents
    assert project.warnings == [f"{rasa_init / 'domain'}: ignored because domain.yml exists; "
                                "keep one of them"]


def test_the_domains_action_names_follow_a_domain_changed_in_place(rasa_init: Path):
    domain = load_project(rasa_init).domain
    names = domain.action_names
    assert domain.action_names == names and "utter_new_thing" not in domain.action_name_set
    domain.responses["utter_new_thing"] = []  # as a tool editing a loaded domain would
    assert "utter_new_thing" in domain.action_names
    assert domain.is_known_action("utter_new_thing")
    domain.actions.append("action_new_thing")
    assert domain.action_names[-1] == "action_new_thing"
    assert "action_new_thing" in domain.action_name_set
