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
    # the part's steps once each "or" is resolved: (steps, labels of the choices made)
    variants: list[tuple[list[Step], list[str]]] = field(default_factory=list)


def expand_blocks(blocks: list[Block], warnings: list[str]) -> list[Story]:
    parts = [part for block in blocks for part in _split(block)]
    consumers: dict[str, list[tuple[Part, Checkpoint]]] = defaultdict(list)
    for part in parts:
        part.variants = _variants(part)
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
        if part.start:
            continue
        paths: list[list[tuple[Part, int]]] = []
        for index in range(len(part.variants)):
            paths.extend(_paths([(part, index)], consumers))
            if len(paths) > MAX_VARIANTS:
                _too_many(part.block, len(paths))
        stories.extend(_story(path) for path in paths)
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


def _variants(part: Part) -> list[tuple[list[Step], list[str]]]:
    choices = [step.alternatives if isinstance(step, OrStep) else [step] for step in part.steps]
    count = 1
    for options in choices:
        count *= len(options)
    if count > MAX_VARIANTS:
        _too_many(part.block, count)
    variants = []
    for combination in itertools.product(*choices):
        labels = [_label(step) for step, options in zip(combination, choices, strict=True)
                  if len(options) > 1]
        variants.append((list(combination), labels))
    return variants


def _too_many(block: Block, count: int) -> None:
    raise BotFileError(f"{block.source}: {block.kind} '{block.name}' has {count} combinations "
                       f"of 'or' alternatives and checkpoints (more than {MAX_VARIANTS}); "
                       "split it into several stories")


def _paths(path: list[tuple[Part, int]], consumers: dict) -> list[list[tuple[Part, int]]]:
    last, _ = path[-1]
    visited = [part for part, _ in path]
    followers = []
    for checkpoint in last.end:
        for part, start in consumers.get(checkpoint.name, []):
            if part not in visited and part not in followers and _slots_match(path, start):
                followers.append(part)
    if not followers:
        return [path]
    result = []
    for part in followers:
        for index in range(len(part.variants)):
            result.extend(_paths([*path, (part, index)], consumers))
    return result


def _slots_match(path: list[tuple[Part, int]], checkpoint: Checkpoint) -> bool:
    # a start checkpoint with slot_was_set only continues paths that set those values
    if not checkpoint.slots:
        return True
    values = {}
    for part, index in path:
        for step in part.variants[index][0]:
            if isinstance(step, SlotStep):
                values.update(step.slots)
    return all(values.get(name) == value for name, value in checkpoint.slots.items())


def _story(path: list[tuple[Part, int]]) -> Story:
    first = path[0][0].block
    blocks = [part.block for part, _ in path]
    names = [b.name for i, b in enumerate(blocks) if i == 0 or b is not blocks[i - 1]]
    labels = [label for part, index in path for label in part.variants[index][1]]
    name = " > ".join(names) + (f" (or: {', '.join(labels)})" if labels else "")
    return Story(
        name=name, kind=first.kind,
        steps=[step for part, index in path for step in part.variants[index][0]],
        source=first.source, condition=list(first.condition),
        conversation_start=first.conversation_start,
        wait_for_user_input=blocks[-1].wait_for_user_input,
    )


def _label(step: Step) -> str:
    if isinstance(step, UserStep):
        return step.intent or repr(step.text)
    if isinstance(step, SlotStep):
        return ", ".join(f"{name}={value!r}" for name, value in step.slots)
    return type(step).__name__
