"""MemoizationPolicy, AugmentedMemoizationPolicy and the learned (TEDPolicy) policy."""

from policy_builders import act, domain, policies, ran, said, slot, slot_set, story, user

from bot.dialogue.policies import PolicyEnsemble
from bot.dialogue.project.model import Slot


def shop_domain():
    return domain(["greet", "ask", "chitchat"], ["utter_greet", "utter_answer", "utter_chitchat"],
                  ["action_set_city"], slots=[Slot("city", "text")])


GREET_THEN_ASK = story("greet then ask", user("greet"), act("utter_greet"), user("ask"), act("utter_answer"))
CHITCHAT_FIRST = [*said("chitchat"), ran("utter_chitchat"), *said("greet"), ran("utter_greet"), *said("ask")]


def test_memoization_recalls_the_whole_history_by_default():
    d = shop_domain()
    ensemble = PolicyEnsemble.train([GREET_THEN_ASK], d, policies("MemoizationPolicy"))
    exact = ensemble.predict([*said("greet"), ran("utter_greet"), *said("ask")], d)
    assert (exact.action, exact.confidence, exact.policy_name) == ("utter_answer", 1.0, "MemoizationPolicy")
    assert ensemble.predict(CHITCHAT_FIRST, d).confidence == 0.0  # an earlier turn it never saw


def test_memoization_with_max_history_recalls_only_the_last_turns():
    d = shop_domain()
    ensemble = PolicyEnsemble.train([GREET_THEN_ASK], d, policies(("MemoizationPolicy", {"max_history": 3})))
    assert ensemble.predict(CHITCHAT_FIRST, d).action == "utter_answer"


def test_memoization_forgets_histories_that_stories_continue_two_ways():
    d = shop_domain()
    other = story("greet then chitchat", user("greet"), act("utter_greet"), user("ask"), act("utter_chitchat"))
    ensemble = PolicyEnsemble.train([GREET_THEN_ASK, other], d, policies("MemoizationPolicy"))
    assert ensemble.predict([*said("greet"), ran("utter_greet"), *said("ask")], d).confidence == 0.0


def test_augmented_memoization_recalls_a_story_after_forgetting_older_turns_and_their_slots():
    d = shop_domain()
    ask = story("ask", user("ask"), act("utter_answer"))
    events = [*said("greet"), ran("action_set_city"), slot_set("city", "Oslo"), *said("ask")]
    plain = PolicyEnsemble.train([ask], d, policies("MemoizationPolicy"))
    augmented = PolicyEnsemble.train([ask], d, policies("AugmentedMemoizationPolicy"))
    assert plain.predict(events, d).confidence == 0.0
    recalled = augmented.predict(events, d)
    assert (recalled.action, recalled.policy_name) == ("utter_answer", "AugmentedMemoizationPolicy")


def vip_domain():
    return domain(
        ["greet", "ask_price", "ask_hours", "ask_address"],
        ["utter_greet", "utter_vip_greet", "utter_price", "utter_hours", "utter_address"],
        slots=[Slot("vip", "bool")],
    )


VIP_STORIES = [
    story("vip greet", slot("vip", True), user("greet"), act("utter_vip_greet")),
    story("greet", user("greet"), act("utter_greet")),
    story("price", user("ask_price"), act("utter_price")),
    story("hours", user("ask_hours"), act("utter_hours")),
    story("address", user("ask_address"), act("utter_address")),
    story("vip price", slot("vip", True), user("ask_price"), act("utter_price")),
]


def test_the_learned_policy_generalises_to_an_unseen_slot_and_intent_combination():
    d = vip_domain()
    ensemble = PolicyEnsemble.train(VIP_STORIES, d, policies("MemoizationPolicy", "TEDPolicy"))
    unseen = [slot_set("vip", True), *said("ask_hours")]  # no story asks for hours as a vip
    prediction = ensemble.predict(unseen, d)
    assert (prediction.action, prediction.policy_name) == ("utter_hours", "TEDPolicy")
    assert prediction.confidence > 0.5
    assert ensemble.predict([slot_set("vip", True), *said("greet")], d).action == "utter_vip_greet"


def test_the_learned_policy_trains_the_same_model_every_time():
    d = vip_domain()
    events = [slot_set("vip", True), *said("ask_address")]
    first = PolicyEnsemble.train(VIP_STORIES, d, policies("TEDPolicy")).predict(events, d)
    second = PolicyEnsemble.train(VIP_STORIES, d, policies("TEDPolicy")).predict(events, d)
    assert first.ranking == second.ranking


def test_augmented_memoization_still_recalls_after_a_long_conversation():
    d = shop_domain()
    ask = story("ask", user("ask"), act("utter_answer"))
    chitchat = story("chitchat", user("chitchat"), act("utter_chitchat"))
    ensemble = PolicyEnsemble.train([ask, chitchat], d, policies("AugmentedMemoizationPolicy"))
    events = [event for _ in range(30) for event in (*said("chitchat"), ran("utter_chitchat"))]
    events += [ran("action_set_city"), slot_set("city", "Oslo"), *said("ask")]
    assert ensemble.predict(events, d).action == "utter_answer"
