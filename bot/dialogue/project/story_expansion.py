"""Turn blocks with ``or`` steps and checkpoints into straight-line :class:`Story` objects.

As in Rasa's story graph: a checkpoint at the start of a story says where it may continue
from, one at the end (or in the middle) where it goes on; stories are joined by checkpoint
name, from the stories that start without one. Each ``or`` step becomes one story per
alternative. A path never visits the same part twice (Rasa unrolls loops a bounded number
of times too; once is what memoization and the conflict check need).
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from dataclasses import dataclass, field

from bot.dialogue.project.model import SlotStep, Step, Story, UserStep
from bot.dialogue.project.stories_reader import Block, Checkpoint, OrStep
from nlp.yamlfile import BotFileError

MAX_VARIANTS = 10_000  # per story: a story with 14 two-way ors is a mistake, not a design


@dataclass(eq=False)  # parts are compared by identity: two can hold the same steps
class Part:
    """A run of steps between checkpoints (a whole story when it has none)."""

    block: Block
    steps: list = field(default_factory=list)
    start: list[Checkpoint] = field(default_factory=list)
    end: list[Checkpoint] = field(default_factory=list)


def expand_blocks(blocks: list[Block], warnings: list[str]) -> list[Story]:
    parts = [part for block in blocks for part in _split(block)]
    consumers: dict[str, list[tuple[Part, Checkpoint]]] = defaultdict(list)
    for part in parts:
        for checkpoint in part.start:
            consumers[checkpoint.name].append((part, checkpoint))
    produced = {cp.name for part in parts for cp in part.end}
    for part in parts:
        for checkpoint in part.start:
            if checkpoint.name not in produced:
                warnings.append(f"{checkpoint.source}: checkpoint '{checkpoint.name}' is never "
                                "reached: no story ends with it; add it at the end of the "
                                "story that should lead here")
        for checkpoint in part.end:
            if checkpoint.name not in consumers:
                warnings.append(f"{checkpoint.source}: checkpoint '{checkpoint.name}' leads "
                                "nowhere: no story starts with it")
    stories: list[Story] = []
    for part in parts:
        if not part.start:
            for path in _paths([part], consumers):
                stories.extend(_linear_stories(path))
    return stories


def _split(block: Block) -> list[Part]:
    parts = [Part(block)]
    for step in block.steps:
        current = parts[-1]
        if isinstance(step, Checkpoint):
            if not current.steps and not current.end:
                current.start.append(step)
            else:
                current.end.append(step)
            continue
        if current.end:  # steps after a checkpoint in the middle: a new part continues
            parts.append(Part(block, start=list(current.end)))
            current = parts[-1]
        current.steps.append(step)
    return parts


def _paths(path: list[Part], consumers: dict) -> list[list[Part]]:
    last = path[-1]
    followers = [
        part for cp in last.end for part, start in consumers.get(cp.name, [])
        if part not in path and _slots_match(path, start)
    ]
    if not followers:
        return [path]
    result: list[list[Part]] = []
    for part in dict.fromkeys(followers):
        result.extend(_paths([*path, part], consumers))
    return result


def _slots_match(path: list[Part], checkpoint: Checkpoint) -> bool:
    # a start checkpoint with slot_was_set only continues paths that set those values
    if not checkpoint.slots:
        return True
    values = {}
    for part in path:
        for step in part.steps:
            if isinstance(step, SlotStep):
                values.update(step.slots)
    return all(values.get(name) == value for name, value in checkpoint.slots.items())


def _linear_stories(path: list[Part]) -> list[Story]:
    first = path[0].block
    names = [p.block.name for i, p in enumerate(path) if i == 0 or p.block is not path[i - 1].block]
    name = " > ".join(names)
    raw_steps = [step for part in path for step in part.steps]
    choices = [step.alternatives if isinstance(step, OrStep) else [step] for step in raw_steps]
    count = 1
    for options in choices:
        count *= len(options)
    if count > MAX_VARIANTS:
        raise BotFileError(f"{first.source}: {first.kind} '{name}' has {count} combinations of "
                           f"'or' alternatives (more than {MAX_VARIANTS}); split it into "
                           "several stories")
    has_or = count > 1
    stories = []
    for combination in itertools.product(*choices):
        label = ""
        if has_or:
            chosen = [_label(step) for step, options in zip(combination, choices, strict=True)
                      if len(options) > 1]
            label = f" (or: {', '.join(chosen)})"
        stories.append(Story(
            name=name + label, kind=first.kind, steps=list(combination), source=first.source,
            condition=list(first.condition), conversation_start=first.conversation_start,
            wait_for_user_input=path[-1].block.wait_for_user_input,
        ))
    return stories


def _label(step: Step) -> str:
    if isinstance(step, UserStep):
        return step.intent or repr(step.text)
    if isinstance(step, SlotStep):
        return ", ".join(f"{name}={value!r}" for name, value in step.slots)
    return type(step).__name__
