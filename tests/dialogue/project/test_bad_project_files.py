"""A broken file is one line naming file, line and what to do; through the CLI a non-zero exit
and no traceback (unless --debug)."""

from __future__ import annotations

from pathlib import Path

import pytest
from rasa_project_helpers import line_of, replace_in

from bot.dialogue.project import load_project
from nlp.yamlfile import BotFileError


def load_error(project: Path) -> str:
    with pytest.raises(BotFileError) as error:
        load_project(project)
    message = str(error.value)
    assert "\n" not in message
    return message


def assert_cli_says(carebot, project: Path, expected_start: str) -> None:
    result = carebot("data", "validate", "--project", str(project))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert result.stderr.startswith(f"error: {expected_start}"), result.stderr


def test_invalid_yaml_names_file_and_line(rasa_init: Path, carebot):
    stories = rasa_init / "data" / "stories.yml"
    replace_in(stories, "  - action: utter_happy\n", "  - action: [utter_happy\n")
    message = load_error(rasa_init)
    assert message.startswith(f"{stories}:")
    line = int(message.split(":")[1])
    assert line_of(stories, "[utter_happy") <= line <= line_of(stories, "[utter_happy") + 2
    assert "invalid YAML" in message
    assert_cli_says(carebot, rasa_init, f"{stories}:{line}: invalid YAML")


def test_an_unknown_domain_key_names_the_key_and_what_is_supported(rasa_init: Path, carebot):
    domain = rasa_init / "domain.yml"
    replace_in(domain, "intents:\n", "stories_per_intent: 3\n\nintents:\n")
    line = line_of(domain, "stories_per_intent")
    message = load_error(rasa_init)
    assert message.startswith(f"{domain}:{line}: unsupported key 'stories_per_intent' in the "
                              "domain; Carebot supports: actions, config, e2e_actions")
    assert_cli_says(carebot, rasa_init, f"{domain}:{line}: unsupported key 'stories_per_intent'")


def test_an_unknown_story_step_key_is_refused(rasa_init: Path):
    stories = rasa_init / "data" / "stories.yml"
    replace_in(stories, "  - action: utter_happy\n", "  - action: utter_happy\n    wait: 3\n")
    assert load_error(rasa_init).startswith(
        f"{stories}:{line_of(stories, 'wait: 3')}: unsupported key 'wait' in a action step")


def test_a_custom_component_is_refused_by_name_and_line(rasa_init: Path, carebot):
    config = rasa_init / "config.yml"
    replace_in(config, "pipeline:\n", "pipeline:\n  - name: WhitespaceTokenizer\n"
                                      "  - name: my_pkg.MyComponent\n")
    line = line_of(config, "my_pkg.MyComponent")
    message = load_error(rasa_init)
    assert message.startswith(f"{config}:{line}: 'my_pkg.MyComponent' is a custom component, "
                              "which Carebot cannot run; remove it or use one of Rasa's built-in")
    assert_cli_says(carebot, rasa_init, f"{config}:{line}: 'my_pkg.MyComponent' is a custom")


def test_a_policy_removed_from_rasa_says_what_replaced_it(rasa_init: Path):
    config = rasa_init / "config.yml"
    replace_in(config, "policies:\n", "policies:\n  - name: FormPolicy\n")
    assert load_error(rasa_init) == (
        f"{config}:{line_of(config, 'FormPolicy')}: 'FormPolicy' was removed in Rasa 2.0; forms "
        "run under RulePolicy")


def test_carebot_settings_in_config_yml_point_to_carebot_yml(rasa_init: Path):
    config = rasa_init / "config.yml"
    config.write_text(config.read_text() + "\nescalation:\n  negative_turns: 3\n")
    message = load_error(rasa_init)
    assert message.startswith(f"{config}:{line_of(config, 'escalation:')}: 'escalation' is a "
                              "Carebot setting, and Carebot's settings now live in carebot.yml")


def test_a_story_naming_an_unknown_action_names_its_step(rasa_init: Path, carebot):
    stories = rasa_init / "data" / "stories.yml"
    replace_in(stories, "  - action: utter_happy\n", "  - action: utter_farewell\n")
    line = line_of(stories, "utter_farewell")
    message = load_error(rasa_init)
    assert message == (f"{stories}:{line}: story 'happy path' uses action 'utter_farewell', "
                       "which is not in the domain; add a response 'utter_farewell' under "
                       "responses: in domain.yml")
    result = carebot("data", "validate", "--project", str(rasa_init))
    assert result.returncode == 1
    assert f"error: {message}" in result.stdout.splitlines()
    assert "Traceback" not in result.stdout + result.stderr


def test_a_story_naming_an_unknown_intent_is_an_error(rasa_init: Path):
    rules = rasa_init / "data" / "rules.yml"
    replace_in(rules, "  - intent: bot_challenge\n", "  - intent: are_you_human\n")
    assert load_error(rasa_init) == (
        f"{rules}:{line_of(rules, 'are_you_human')}: rule 'Say 'I am a bot' anytime the user "
        "challenges' uses intent 'are_you_human', which is not in the domain; add it under "
        "intents: in domain.yml")


def test_several_problems_are_counted_in_the_one_line(rasa_init: Path):
    stories = rasa_init / "data" / "stories.yml"
    replace_in(stories, "utter_happy", "utter_farewell", count=2)
    message = load_error(rasa_init)
    assert message.endswith("(1 more problem: run `carebot data validate` to see them all)")


def test_a_duplicate_key_is_refused(rasa_init: Path):
    domain = rasa_init / "domain.yml"
    replace_in(domain, "  utter_happy:\n", "  utter_greet:\n  - text: again\n\n  utter_happy:\n")
    second = [n for n, line in enumerate(domain.read_text().splitlines(), 1)
              if line.strip() == "utter_greet:"][1]
    assert load_error(rasa_init) == (
        f"{domain}:{second}: duplicate key 'utter_greet' (first on line "
        f"{line_of(domain, 'utter_greet:')}); keep one of them")


def test_a_form_requiring_a_missing_slot_is_an_error(rasa_init: Path):
    domain = rasa_init / "domain.yml"
    domain.write_text(domain.read_text() + "\nforms:\n  mood_form:\n    required_slots:\n"
                                           "      - mood\n")
    assert load_error(rasa_init) == (
        f"{domain}:{line_of(domain, '      - mood')}: form 'mood_form' requires slot 'mood', which "
        "is not in the domain; add it under slots: in domain.yml")


def test_no_domain_says_how_to_start_a_project(tmp_path: Path, carebot):
    result = carebot("data", "validate", "--project", str(tmp_path))
    assert result.returncode == 1
    assert result.stderr == (f"error: {tmp_path}: no domain.yml and no domain/ folder; this is "
                             "not a Rasa project (run `carebot init` to make one)\n")


@pytest.mark.parametrize("where", ["command", "group"])
def test_debug_shows_the_traceback(rasa_init: Path, carebot, where: str):
    replace_in(rasa_init / "domain.yml", "intents:\n", "stories_per_intent: 3\nintents:\n")
    args = ["data", "validate", "--project", str(rasa_init)]
    result = carebot(*(args + ["--debug"] if where == "command" else ["--debug", *args]))
    assert result.returncode != 0
    assert "Traceback" in result.stderr and "BotFileError" in result.stderr
