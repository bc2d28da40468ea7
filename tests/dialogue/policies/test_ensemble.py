"""PolicyEnsemble: Rasa's priorities and ties, config errors, defaults, save/load, fingerprint."""

from pathlib import Path

import pytest
from policy_builders import act, domain, policies, ran, rule, said, story, user

from bot.dialogue.policies import PolicyConfigError, PolicyEnsemble, UnknownPolicyError
from bot.dialogue.project.model import Component, SourceRef

GREET_RULE = rule("greet", user("greet"), act("utter_greet"))
GREET_STORY = story("greet", user("greet"), act("utter_greet"), user("ask"), act("utter_answer"))


def greet_domain():
    return domain(["greet", "ask", "bye"], ["utter_greet", "utter_answer", "utter_bye"])


def test_rule_and_memoization_tied_at_full_confidence_go_to_the_rule_policy():
    d = greet_domain()
    ensemble = PolicyEnsemble.train([GREET_RULE, GREET_STORY], d, policies("MemoizationPolicy", "RulePolicy"))
    prediction = ensemble.predict(said("greet"), d)
    assert (prediction.action, prediction.confidence, prediction.policy_name) == ("utter_greet", 1.0, "RulePolicy")


def test_a_higher_priority_option_wins_the_tie():
    d = greet_domain()
    config = policies(("MemoizationPolicy", {"priority": 7}), "RulePolicy")
    ensemble = PolicyEnsemble.train([GREET_RULE, GREET_STORY], d, config)
    assert ensemble.predict(said("greet"), d).policy_name == "MemoizationPolicy"


def test_a_memorised_story_beats_the_core_fallback():
    d = greet_domain()
    ensemble = PolicyEnsemble.train([GREET_RULE, GREET_STORY], d, policies("MemoizationPolicy", "RulePolicy"))
    prediction = ensemble.predict([*said("greet"), ran("utter_greet"), *said("ask")], d)
    assert (prediction.action, prediction.policy_name) == ("utter_answer", "MemoizationPolicy")
    fallback = ensemble.predict([*said("bye")], d)
    assert (fallback.action, fallback.confidence) == ("action_default_fallback", 0.3)


def test_an_action_whose_execution_was_rejected_is_not_predicted_again():
    d = greet_domain()
    ensemble = PolicyEnsemble.train([GREET_RULE], d, policies("RulePolicy"))
    rejected = [*said("greet"), {"event": "action_execution_rejected", "name": "utter_greet"}]
    assert ensemble.predict(rejected, d).action == "action_default_fallback"


def test_a_scheduled_followup_action_comes_first():
    d = greet_domain()
    ensemble = PolicyEnsemble.train([GREET_RULE], d, policies("RulePolicy"))
    prediction = ensemble.predict([*said("greet"), {"event": "followup", "name": "utter_bye"}], d)
    assert (prediction.action, prediction.policy_name) == ("utter_bye", "FollowupAction")
    after_restart = ensemble.predict([*said("restart"), ran("action_restart"), {"event": "restart"}], d)
    assert after_restart.action == "action_session_start"


def test_a_prediction_after_a_user_message_records_how_the_message_was_featurised():
    d = greet_domain()
    ensemble = PolicyEnsemble.train([GREET_RULE], d, policies("RulePolicy"))
    assert ensemble.predict(said("greet"), d).events == [
        {"event": "user_featurization", "use_text_for_featurization": False}]
    assert ensemble.predict([*said("greet"), ran("utter_greet")], d).events == []


def test_no_policies_in_config_means_rasas_defaults():
    ensemble = PolicyEnsemble.train([GREET_RULE, GREET_STORY], greet_domain(), [])
    assert [p.kind for p in ensemble.policies] == [
        "MemoizationPolicy", "RulePolicy", "UnexpecTEDIntentPolicy", "TEDPolicy"]
    assert ensemble.warnings == []


def test_an_unknown_policy_is_an_error_naming_it_and_where_it_was_written():
    source = SourceRef(Path("config.yml"), 12)
    with pytest.raises(UnknownPolicyError) as raised:
        PolicyEnsemble.train([GREET_RULE], greet_domain(), [Component("my_module.MyPolicy", {}, source)])
    assert isinstance(raised.value, ValueError)
    assert str(raised.value).startswith("config.yml:12: unknown policy 'my_module.MyPolicy'")


def test_a_policy_rasa_3_removed_says_what_replaces_it():
    with pytest.raises(UnknownPolicyError, match="FormPolicy.*RulePolicy"):
        PolicyEnsemble.train([GREET_RULE], greet_domain(), policies("FormPolicy"))


def test_a_misspelt_rule_policy_option_is_an_error():
    with pytest.raises(PolicyConfigError, match="core_fallback_treshold"):
        PolicyEnsemble.train([GREET_RULE], greet_domain(), policies(("RulePolicy", {"core_fallback_treshold": 0.4})))


def test_ted_settings_without_effect_are_reported_not_refused():
    ensemble = PolicyEnsemble.train([GREET_STORY], greet_domain(), policies(("TEDPolicy", {"epochs": 5, "batch_size": 8})))
    assert any("batch_size" in w for w in ensemble.warnings)


def test_a_saved_ensemble_predicts_the_same_after_loading(tmp_path):
    d = greet_domain()
    trained = PolicyEnsemble.train([GREET_RULE, GREET_STORY], d, [])
    loaded = PolicyEnsemble.load(trained.save(tmp_path / "policies"))
    conversations = [said("greet"), [*said("greet"), ran("utter_greet"), *said("ask")], said("bye")]
    for events in conversations:
        assert loaded.predict(events, d) == trained.predict(events, d)
    assert loaded.fingerprint == trained.fingerprint
    assert PolicyEnsemble.saved_fingerprint(tmp_path / "policies") == trained.fingerprint


def test_loading_from_a_folder_without_policies_says_to_train(tmp_path):
    with pytest.raises(FileNotFoundError, match="carebot train"):
        PolicyEnsemble.load(tmp_path)


def test_the_fingerprint_follows_content_not_file_locations():
    d = greet_domain()
    moved = rule("greet", user("greet"), act("utter_greet"))
    moved.source = SourceRef(Path("/elsewhere/rules.yml"), 40)
    changed = rule("greet", user("greet"), act("utter_bye"))
    base = PolicyEnsemble.fingerprint_for([GREET_RULE], d, [])
    assert PolicyEnsemble.fingerprint_for([moved], d, []) == base
    assert PolicyEnsemble.fingerprint_for([changed], d, []) != base
    assert PolicyEnsemble.fingerprint_for([GREET_RULE], d, policies("RulePolicy")) != base
