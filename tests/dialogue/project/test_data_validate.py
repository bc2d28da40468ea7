"""`carebot data validate` finds what `rasa data validate` finds, one line per problem."""

from __future__ import annotations

import textwrap
from pathlib import Path

from rasa_project_helpers import line_of, lines_of, replace_in

from bot.dialogue.project.validate import validate_project

SAD_PATH_3 = """
- story: sad path 3
  steps:
  - intent: greet
  - action: utter_greet
  - intent: mood_unhappy
  - action: utter_goodbye
"""

# the same last turn (mood_great after a listen), different earlier turns
LONG_HISTORY_STORY = """
- story: challenged, then great
  steps:
  - intent: bot_challenge
  - action: utter_iamabot
  - intent: mood_great
  - action: utter_goodbye
"""


def messages(report, level: str) -> list[str]:
    return [str(i) for i in report.issues if i.level == level]


def test_rasa_init_has_no_problems(rasa_init: Path, carebot):
    assert validate_project(rasa_init).issues == []
    result = carebot("data", "validate", "--project", str(rasa_init))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == (f"{rasa_init}: no problems found (3 stories, 2 rules, 7 test "
                             "stories).\n")


def test_financial_demo_has_warnings_but_no_errors(financial_demo: Path):
    report = validate_project(financial_demo)
    assert report.errors == []
    domain = financial_demo / "domain.yml"
    warnings = messages(report, "warning")
    assert (f"{domain}:{line_of(domain, '- handoff')}: intent 'handoff' has no NLU examples; "
            "add some in data/nlu.yml, or remove the intent") in warnings
    assert (f"{domain}:{line_of(domain, 'utter_ask_continue:')}: response 'utter_ask_continue' "
            "is not used in any story, rule, form or custom action") in warnings
    # asked by the form, or uttered by its custom actions: not reported
    assert not any("'utter_ask_cc_payment_form_time'" in w for w in warnings)
    assert not any("'utter_no_payment_amount'" in w for w in warnings)


def test_a_planted_story_conflict_is_an_error(rasa_init: Path, carebot):
    stories = rasa_init / "data" / "stories.yml"
    stories.write_text(stories.read_text() + SAD_PATH_3)
    goodbye = lines_of(stories, "utter_goodbye")[-1]
    cheer_up = lines_of(stories, "utter_cheer_up")
    [conflict] = validate_project(rasa_init).errors
    assert str(conflict) == (
        f"{stories}:{goodbye}: story structure conflict after intent 'mood_unhappy': "
        f"'utter_cheer_up' in 'sad path 1' ({stories}:{cheer_up[0]}), 'sad path 2' "
        f"({stories}:{cheer_up[1]}); 'utter_goodbye' in 'sad path 3' ({stories}:{goodbye}), "
        "after the same history (the last 5 states); make the stories differ before that "
        "point (an intent, slot or action) or make them agree")
    result = carebot("data", "validate", "--project", str(rasa_init))
    assert result.returncode == 1
    assert result.stdout.splitlines()[0] == f"error: {conflict}"


def test_max_history_decides_how_far_back_stories_must_differ(rasa_init: Path, carebot):
    stories = rasa_init / "data" / "stories.yml"
    stories.write_text(stories.read_text() + LONG_HISTORY_STORY)
    assert validate_project(rasa_init).errors == []  # 5 turns back the stories differ
    [conflict] = validate_project(rasa_init, max_history=1).errors
    assert "after intent 'mood_great'" in str(conflict)
    result = carebot("data", "validate", "--project", str(rasa_init), "--max-history", "1")
    assert result.returncode == 1


def test_max_history_is_read_from_the_policies(rasa_init: Path):
    stories = rasa_init / "data" / "stories.yml"
    stories.write_text(stories.read_text() + LONG_HISTORY_STORY)
    replace_in(rasa_init / "config.yml", "policies:\n",
               "policies:\n  - name: MemoizationPolicy\n    max_history: 1\n")
    assert len(validate_project(rasa_init).errors) == 1


def test_slots_that_change_the_state_keep_stories_apart(rasa_init: Path):
    stories = rasa_init / "data" / "stories.yml"
    replace_in(rasa_init / "domain.yml", "responses:\n", textwrap.dedent("""\
        slots:
          returning:
            type: bool
            mappings:
            - type: custom
        responses:
        """))
    stories.write_text(stories.read_text() + SAD_PATH_3.replace(
        "  - intent: greet\n", "  - slot_was_set:\n    - returning: true\n  - intent: greet\n"))
    assert validate_project(rasa_init).errors == []


def test_intents_without_examples_and_unknown_nlu_intents(rasa_init: Path):
    domain = rasa_init / "domain.yml"
    nlu = rasa_init / "data" / "nlu.yml"
    replace_in(domain, "  - bot_challenge\n", "  - bot_challenge\n  - ask_weather\n")
    replace_in(nlu, "- intent: bot_challenge", "- intent: are_you_real\n  examples: |\n"
                                               "    - are you real\n\n- intent: bot_challenge")
    report = validate_project(rasa_init)
    assert messages(report, "error") == [
        f"{nlu}:{line_of(nlu, 'are_you_real')}: intent 'are_you_real' has NLU examples but is "
        "not in the domain; add it under intents: in domain.yml"]
    assert f"{domain}:{line_of(domain, 'ask_weather')}: intent 'ask_weather' has no NLU " \
           "examples; add some in data/nlu.yml, or remove the intent" in messages(report,
                                                                                  "warning")


def test_entities_annotated_in_nlu_must_be_in_the_domain(rasa_init: Path):
    nlu = rasa_init / "data" / "nlu.yml"
    replace_in(nlu, "    - I am sad\n", "    - I am sad in [Berlin](city)\n")
    assert messages(validate_project(rasa_init), "error") == [
        f"{nlu}:{line_of(nlu, '[Berlin](city)')}: entity 'city' is annotated in the NLU data but "
        "not in the domain; add it under entities: in domain.yml"]


def test_unknown_slots_in_stories_are_listed_with_every_other_problem(rasa_init: Path):
    stories = rasa_init / "data" / "stories.yml"
    replace_in(stories, "  - action: utter_happy\n",
               "  - action: utter_happy\n  - slot_was_set:\n    - mood: great\n")
    replace_in(stories, "  - action: utter_goodbye\n", "  - action: utter_see_you\n")
    errors = messages(validate_project(rasa_init), "error")
    assert errors == [
        f"{stories}:{line_of(stories, 'slot_was_set')}: story 'happy path' sets slot 'mood', "
        "which is not in the domain; add it under slots: in domain.yml (with its type)",
        f"{stories}:{line_of(stories, 'utter_see_you')}: story 'sad path 2' uses action "
        "'utter_see_you', which is not in the domain; add a response 'utter_see_you' under "
        "responses: in domain.yml"]


def test_a_response_a_custom_action_utters_is_used(rasa_init: Path):
    replace_in(rasa_init / "domain.yml", "  utter_iamabot:\n",
               "  utter_weather:\n  - text: Sunny\n\n  utter_iamabot:\n")
    assert any("'utter_weather' is not used" in m for m in
               messages(validate_project(rasa_init), "warning"))
    (rasa_init / "actions" / "weather.py").write_text(
        'def run(dispatcher):\n    dispatcher.utter_message(response="utter_weather")\n')
    assert not any("'utter_weather'" in m for m in messages(validate_project(rasa_init),
                                                            "warning"))


def test_warnings_fail_only_when_asked(rasa_init: Path, carebot):
    replace_in(rasa_init / "domain.yml", "  - bot_challenge\n", "  - bot_challenge\n  - unused\n")
    assert carebot("data", "validate", "-p", str(rasa_init)).returncode == 0
    result = carebot("data", "validate", "-p", str(rasa_init), "--fail-on-warnings")
    assert result.returncode == 1
    assert result.stdout.splitlines()[-1] == (f"{rasa_init}: 0 error(s), 2 warning(s) (3 "
                                              "stories, 2 rules, 7 test stories).")


def test_help_explains_the_checks(carebot):
    result = carebot("data", "validate", "--help")
    assert result.returncode == 0
    assert "story structure conflicts" in result.stdout
    assert "--max-history" in result.stdout and "--fail-on-warnings" in result.stdout
