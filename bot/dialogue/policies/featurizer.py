"""Featurised dialogue states as numbers, for the learned policy.

One state becomes one vector, as Rasa's ``SingleStateFeaturizer`` does: the user's intent
(one-hot), entities (multi-hot, ``entity#role`` / ``entity#group`` too), the features of
slots that influence the conversation, the previous action (one-hot) and the active loop
(one-hot). A history is the last ``window`` vectors side by side, each with a "present"
bit, oldest padded with zeros.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from bot.dialogue import events as ev
from bot.dialogue.policies.states import categorical_values
from bot.dialogue.project.model import DEFAULT_INTENTS, Domain, Slot


def slot_dimension(slot: Slot) -> int:
    if not slot.influence_conversation or slot.type == "any":
        return 0
    if slot.type in ("bool", "float"):
        return 2
    if slot.type == "categorical":
        return len(categorical_values(slot))
    return 1


@dataclass
class StateFeaturizer:
    intents: list[str]
    entities: list[str]
    slots: dict[str, int]  # slot name -> number of features, in domain order
    actions: list[str]
    loops: list[str]
    _offsets: dict[str, int] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._index = {
            ev.INTENT: {n: i for i, n in enumerate(self.intents)},
            ev.ENTITIES: {n: i for i, n in enumerate(self.entities)},
            ev.PREVIOUS_ACTION: {n: i for i, n in enumerate(self.actions)},
            ev.ACTIVE_LOOP: {n: i for i, n in enumerate(self.loops)},
        }
        offset = 0
        for part, size in (("intent", len(self.intents)), ("entities", len(self.entities)),
                           ("slots", sum(self.slots.values())), ("prev_action", len(self.actions)),
                           ("active_loop", len(self.loops))):
            self._offsets[part] = offset
            offset += size
        self.dim = offset
        slot_offset, self._slot_offsets = 0, {}
        for name, size in self.slots.items():
            self._slot_offsets[name] = slot_offset
            slot_offset += size

    @classmethod
    def for_training(cls, domain: Domain, all_states: list[list[ev.State]]) -> StateFeaturizer:
        """Vocabulary from the domain, plus anything the training states hold beyond it."""
        intents = list(dict.fromkeys([*domain.intents, *DEFAULT_INTENTS]))
        entities = []
        for name, entity in domain.entities.items():
            entities.append(name)
            entities += [f"{name}{ev.ENTITY_LABEL_SEPARATOR}{s}" for s in (*entity.roles, *entity.groups)]
        actions = list(domain.action_names)
        for states in all_states:
            for state in states:
                user = state.get(ev.USER, {})
                if user.get(ev.INTENT) and user[ev.INTENT] not in intents:
                    intents.append(user[ev.INTENT])
                entities += [e for e in user.get(ev.ENTITIES, ()) if e not in entities]
                prev = state.get(ev.PREVIOUS_ACTION, {}).get(ev.ACTION_NAME)
                if prev and prev not in actions:
                    actions.append(prev)
        slots = {name: slot_dimension(s) for name, s in domain.slots.items() if slot_dimension(s)}
        return cls(intents, list(dict.fromkeys(entities)), slots, actions, list(domain.forms))

    def encode_state(self, state: ev.State, out: np.ndarray) -> None:
        user = state.get(ev.USER, {})
        if user.get(ev.INTENT) in self._index[ev.INTENT]:
            out[self._offsets["intent"] + self._index[ev.INTENT][user[ev.INTENT]]] = 1.0
        for entity in user.get(ev.ENTITIES, ()):
            if entity in self._index[ev.ENTITIES]:
                out[self._offsets["entities"] + self._index[ev.ENTITIES][entity]] = 1.0
        for name, features in state.get(ev.SLOTS, {}).items():
            if name not in self._slot_offsets or not isinstance(features, (list, tuple)):
                continue
            start = self._offsets["slots"] + self._slot_offsets[name]
            values = list(features)[: self.slots[name]]
            out[start:start + len(values)] = values
        prev = state.get(ev.PREVIOUS_ACTION, {}).get(ev.ACTION_NAME)
        if prev in self._index[ev.PREVIOUS_ACTION]:
            out[self._offsets["prev_action"] + self._index[ev.PREVIOUS_ACTION][prev]] = 1.0
        loop = ev.loop_name_in_state(state)
        if loop in self._index[ev.ACTIVE_LOOP]:
            out[self._offsets["active_loop"] + self._index[ev.ACTIVE_LOOP][loop]] = 1.0

    def encode(self, histories: list[list[ev.State]], window: int) -> np.ndarray:
        """One row per history: the last ``window`` states, oldest first, zero-padded."""
        width = self.dim + 1
        matrix = np.zeros((len(histories), window * width), dtype=np.float32)
        for row, states in enumerate(histories):
            recent = states[-window:]
            start = window - len(recent)
            for position, state in enumerate(recent, start=start):
                block = matrix[row, position * width:(position + 1) * width]
                block[0] = 1.0  # a state is here (the conversation start state is empty)
                self.encode_state(state, block[1:])
        return matrix

    def to_dict(self) -> dict:
        return {"intents": self.intents, "entities": self.entities, "slots": self.slots,
                "actions": self.actions, "loops": self.loops}

    @classmethod
    def from_dict(cls, data: dict) -> StateFeaturizer:
        return cls(data["intents"], data["entities"], dict(data["slots"]), data["actions"], data["loops"])
