"""Forms (Rasa's ``FormAction``, a loop): activate, validate what the user gave through
``validate_<form>``, ask for the next required slot, and end when every slot is filled."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from bot.dialogue import events as ev
from bot.dialogue import rasa_events as re_
from bot.dialogue.project.model import ACTION_LISTEN, REQUESTED_SLOT, Domain
from bot.dialogue.slot_filling import extract_slots

logger = logging.getLogger(__name__)

# run(action_name, events) -> events; raises ActionRejected when the action rejects itself
RunAction = Callable[[str, list[dict]], Awaitable[list[dict]]]


class FormRejected(Exception):
    """The form could not use the user's message: other policies get to answer it."""

    def __init__(self, form: str, reason: str) -> None:
        super().__init__(f"{form}: {reason}")
        self.form = form


def _slot_to_fill(view: ev.TrackerView, form: str) -> str | None:
    return view.slots.get(REQUESTED_SLOT) if view.active_loop_name == form else None


def _rejected_manually(events: list[dict]) -> bool:
    return any(e.get("event") == "action_execution_rejected" for e in events)


def _is_done(events: list[dict]) -> bool:
    if _rejected_manually(events):
        return False
    requested = next((e for e in reversed(events) if e.get("event") == "slot"
                      and e.get("name") == REQUESTED_SLOT), None)
    loop = next((e for e in reversed(events) if e.get("event") == "active_loop"), None)
    return (requested is not None and requested.get("value") is None) or \
        (loop is not None and loop.get("name") is None)


class FormRunner:
    """One execution of a form in one turn; the processor hands it the events so far."""

    def __init__(self, domain: Domain, form: str, run_action: RunAction,
                 run_custom: RunAction) -> None:
        self.domain = domain
        self.form = form
        self.run_action = run_action  # asks for a slot (a response or a custom action)
        self.run_custom = run_custom  # validate_<form>, custom slot mappings

    async def run(self, events: list[dict]) -> list[dict]:
        """The events of one execution of the form (Rasa's ``LoopAction.run``)."""
        form = self.form
        done: list[dict] = []
        if ev.view(events, self.domain).active_loop_name != form:
            done.append(re_.active_loop(form))
            # mappings conditioned on this form (and from_trigger_intent) apply from now on;
            # like Rasa, the tracker the form goes on with holds what they filled
            extracted = await extract_slots(events + done, self.domain, self.run_custom)
            events = events + extracted
            done += extracted + await self._validate_prefilled(form, events)
        if not _is_done(done):
            done += await self._do(form, events, done)
        if _is_done(done):
            done.append(re_.active_loop(None))
        return done

    def required_slots(self, form: str) -> tuple[str, ...]:
        return self.domain.forms[form].required_slots

    async def _validate_prefilled(self, form: str, events: list[dict]) -> list[dict]:
        slots = ev.view(events, self.domain).slots
        prefilled = {name: slots.get(name) for name in self.required_slots(form)
                     if slots.get(name) is not None}
        return await self._validate_slots(form, prefilled, events) if prefilled else []

    async def _do(self, form: str, events: list[dict], so_far: list[dict]) -> list[dict]:
        view = ev.view(events, self.domain)
        loop = view.loop
        needs_validation = view.active_loop_name != form or (
            view.latest_action_name == ACTION_LISTEN and loop is not None
            and not loop.is_interrupted)
        if needs_validation:
            done = await self._validate(form, events, view)
        else:  # back from an unhappy path: nothing new to validate
            done = await self._validate_slots(form, {}, events)
        if not _rejected_manually(done):
            done += await self._request_next_slot(form, events, so_far + done)
        return done

    async def _validate(self, form: str, events: list[dict], view: ev.TrackerView) -> list[dict]:
        candidates = self._slot_extractions(form, events, view)
        done = await self._validate_slots(form, candidates, events)
        validated_something = any(e.get("event") == "slot" and e.get("name") != REQUESTED_SLOT
                                  for e in done)
        slot = _slot_to_fill(view, form)
        if slot and not validated_something and not _rejected_manually(done):
            raise FormRejected(form, f"could not extract slot '{slot}'")
        return done

    def _slot_extractions(self, form: str, events: list[dict], view: ev.TrackerView) -> dict:
        if view.active_loop_name is None:
            return {}  # pre-filled slots were validated at activation
        latest = view.latest_message
        since = 0
        for i in range(len(events) - 1, -1, -1):
            if events[i] is latest or (latest is not None and events[i] == latest):
                since = i
                break
        wanted = set(self.required_slots(form))
        requested = _slot_to_fill(view, form)
        if requested:
            wanted.add(requested)
        return {e["name"]: e.get("value") for e in events[since:]
                if e.get("event") == "slot" and e.get("name") in wanted}

    async def _validate_slots(self, form: str, candidates: dict, events: list[dict]) -> list[dict]:
        slot_events = [re_.slot(name, value) for name, value in candidates.items()]
        validator = f"validate_{form}"
        if validator not in self.domain.actions:
            return slot_events
        view = ev.view(events, self.domain)
        temporary = [*events, re_.slot(REQUESTED_SLOT, _slot_to_fill(view, form)),
                     re_.action(form), *slot_events]
        validated = await self.run_custom(validator, temporary)
        names = {e.get("name") for e in validated if e.get("event") == "slot"}
        return validated + [e for e in slot_events if e["name"] not in names]

    async def _request_next_slot(self, form: str, events: list[dict],
                                 so_far: list[dict]) -> list[dict]:
        if _is_done(so_far):
            return [re_.slot(REQUESTED_SLOT, None)]
        requested = next((e.get("value") for e in so_far if e.get("event") == "slot"
                          and e.get("name") == REQUESTED_SLOT), None)
        temporary = [*events, re_.slot(REQUESTED_SLOT, None), re_.action(form), *so_far]
        done: list[dict] = []
        if not requested:
            slots = ev.view(temporary, self.domain).slots
            requested = next((name for name in self.required_slots(form)
                              if slots.get(name) is None), None)
            done.append(re_.slot(REQUESTED_SLOT, requested))
        if not requested:
            return [re_.slot(REQUESTED_SLOT, None)]
        ask = self._asking_action(form, requested)
        if ask is None:
            logger.debug("form %s: nothing asks for slot %s", form, requested)
            return done
        return done + await self.run_action(ask, temporary + done)

    def _asking_action(self, form: str, slot: str) -> str | None:
        names = set(self.domain.action_names)
        for candidate in (f"action_ask_{form}_{slot}", f"utter_ask_{form}_{slot}",
                          f"action_ask_{slot}", f"utter_ask_{slot}"):
            if candidate in names:
                return candidate
        return None
