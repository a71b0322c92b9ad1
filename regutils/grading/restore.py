"""A submission put back in order: the handout's check cells restored, what was changed noted.

Before a submission runs, every check cell of the handout goes back in: matched by cell id, or
(for a notebook whose ids were lost) by its source; an edited check cell is restored, one that
was re-tagged, turned into text or moved is restored and noted, a deleted one is added again.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field

from .handout import exercises


@dataclass
class Restored:
    """A submission with the handout's check cells back in place.

    `check_cells` maps each exercise number to the position of its check cell in `notebook`;
    `tampered` to what was wrong with that check cell in the submission (empty if nothing);
    `spans` to the code cells of the exercise, from the cell after the previous check cell.
    """

    notebook: object
    check_cells: dict[int, int]
    tampered: dict[int, list[str]] = field(default_factory=dict)
    spans: dict[int, tuple[int, ...]] = field(default_factory=dict)
    solutions: dict[int, tuple[int, ...]] = field(default_factory=dict)


def restore(submission, handout) -> Restored:
    """`submission` with every check cell of `handout` restored (re-added where deleted).

    Cells are matched by cell id, then, for notebooks whose ids were lost, by identical source.
    """
    notebook = copy.deepcopy(submission)
    cells = list(notebook.cells)
    handed_out = exercises(handout)
    matched = _match(handout.cells, cells)
    tampered: dict[int, list[str]] = {}
    placed: dict[int, object] = {}  # exercise number -> the restored cell object
    for exercise in handed_out:
        original = handout.cells[exercise.check_cell]
        position = matched.get(exercise.check_cell)
        notes = []
        if position is None:
            notes.append("the check cell was deleted; it was put back as handed out")
            position = _insertion_point(exercise.check_cell, matched, len(cells))
            cells.insert(position, None)
            matched = {h: s + (s >= position) for h, s in matched.items()}
        else:
            notes += _differences(original, cells[position])
        cells[position] = _fresh_copy(original)
        matched[exercise.check_cell] = position
        placed[exercise.number] = cells[position]
        if notes:
            tampered[exercise.number] = notes
    notebook.cells = cells
    positions = {id(cell): index for index, cell in enumerate(cells)}
    check_cells = {number: positions[id(cell)] for number, cell in placed.items()}
    for number in _out_of_order([check_cells[n] for n in sorted(check_cells)]):
        tampered.setdefault(number, []).append("the check cell was moved")
    spans, solutions, previous = {}, {}, None
    code = [i for i, cell in enumerate(cells) if cell.cell_type == "code"]
    for exercise in handed_out:
        end = check_cells[exercise.number]
        answer_cells = [matched[i] for i in exercise.solutions if i in matched]
        start = (previous + 1 if previous is not None and previous < end
                 else min(answer_cells + [end]))
        spans[exercise.number] = tuple(i for i in code if start <= i <= end)
        solutions[exercise.number] = tuple(answer_cells)
        previous = end
    return Restored(notebook, check_cells, tampered, spans, solutions)


def _out_of_order(positions: list[int]) -> list[int]:
    """The exercise numbers (from 1) whose check cells fall outside the longest run in order."""
    best = [[]]  # best[k]: an increasing run of length k ending as low as possible
    for number, position in enumerate(positions, start=1):
        runs = [run for run in best if not run or positions[run[-1] - 1] < position]
        longest = max(runs, key=len)
        candidate = longest + [number]
        if len(candidate) < len(best):
            if positions[best[len(candidate)][-1] - 1] > position:
                best[len(candidate)] = candidate
        else:
            best.append(candidate)
    kept = set(best[-1])
    return [number for number in range(1, len(positions) + 1) if number not in kept]


def _match(handout_cells: list, cells: list) -> dict[int, int]:
    """Handout cell position -> submission cell position, by id, then by identical source."""
    by_id = {cell.get("id"): index for index, cell in enumerate(cells) if cell.get("id")}
    matched = {}
    for index, cell in enumerate(handout_cells):
        found = by_id.get(cell.get("id")) if cell.get("id") else None
        if found is not None and found not in matched.values():
            matched[index] = found
    taken = set(matched.values())
    for index, cell in enumerate(handout_cells):
        if index in matched or not cell.source.strip():
            continue
        after = max((s for h, s in matched.items() if h < index), default=-1)
        for position in range(after + 1, len(cells)):
            if position not in taken and cells[position].source == cell.source \
                    and cells[position].cell_type == cell.cell_type:
                matched[index] = position
                taken.add(position)
                break
    return matched


def _insertion_point(handout_index: int, matched: dict[int, int], length: int) -> int:
    """Where a deleted handout cell goes: before the next handout cell still there (so after
    whatever the student wrote in its exercise), else after the last one before it."""
    after = [s for h, s in matched.items() if h > handout_index]
    before = [s for h, s in matched.items() if h < handout_index]
    if after and (not before or min(after) > max(before)):
        return min(after)
    return max(before) + 1 if before else length


def _differences(original, cell) -> list[str]:
    if cell.cell_type != original.cell_type:
        return [f"the check cell was turned into a {cell.cell_type} cell; it was put back"]
    notes = []
    if cell.source != original.source:
        first = next((line.strip() for line in cell.source.splitlines() if line.strip()), "")
        shown = first if len(first) <= 40 else first[:37] + "..."
        notes.append(f"the check cell was edited (it began with `{shown}`); "
                     "it was put back as handed out")
    tags, handed = set(cell.metadata.get("tags", [])), set(original.metadata.get("tags", []))
    if tags != handed:
        changes = ([f"+{tag}" for tag in sorted(tags - handed)]
                   + [f"-{tag}" for tag in sorted(handed - tags)])
        notes.append(f"the check cell's tags were changed ({', '.join(changes)}); "
                     "they were put back")
    return notes


def _fresh_copy(original):
    cell = copy.deepcopy(original)
    if cell.cell_type == "code":
        cell.outputs, cell.execution_count = [], None
    return cell
