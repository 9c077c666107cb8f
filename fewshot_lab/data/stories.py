"""Stories with questions, generated from a small grammar in the manner of bAbI (Weston et al. 2015) tasks 1 and 2,
the tasks of end-to-end memory networks (Sukhbaatar et al. 2015), section 7.6. Nothing is downloaded.

Task 1, a single supporting fact: people move between places; "where is mary" is answered by her last move.

    mary went to the kitchen . john moved to the garden . mary travelled to the office .  where is mary ?  office

Task 2, two supporting facts: people also pick up and put down objects; "where is the football" is answered by
who took it last (or where it was put down) together with where that person went last (before putting it down):

    john got the football there . john went to the hallway . mary went to the office .  where is the football ?  hallway

A story of `shots` sentences is one task: its sentences are the support set (a memory network's memory) and
`queries` questions about the story's end are the query set, each answered by one word of the vocabulary. bAbI asks
its questions between the sentences instead, each about the story so far; a question asked there is this task with a
shorter story. Questions ask only about people who have moved or objects whose place the story tells, drawn with
replacement. The splits are independent seeded streams (as for sinusoid and the copy task).

Words are indices into VOCABULARY (0 is padding); every sentence and question is padded to WORDS words.

    stories = load_dataset("babi-2")
    task = stories.sampler("test", shots=12, queries=3, seed=0).sample()
    task.support_x   # [12, WORDS] word indices of the sentences; task.query_x [3, WORDS]; task.query_y [3] answers
    stories.text(task.query_x[0])   # "where is the milk"
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from fewshot_lab.checks import check_positive_int
from fewshot_lab.data.dataset import SPLITS
from fewshot_lab.data.tasks import TaskStream, TensorRecord, check_seed

PEOPLE = ("mary", "john", "sandra", "daniel")
PLACES = ("bathroom", "bedroom", "garden", "hallway", "kitchen", "office")
OBJECTS = ("apple", "football", "milk")
MOVES = ("went to the", "moved to the", "journeyed to the", "travelled to the", "went back to the")
TAKES = ("got the {} there", "picked up the {} there", "grabbed the {} there", "took the {} there")
DROPS = ("dropped the {}", "discarded the {}", "put down the {}", "left the {}")
QUESTION = "where is"
PADDING = "<pad>"
VOCABULARY = (
    PADDING,
    *sorted(
        {
            word
            for phrase in (*PEOPLE, *PLACES, *OBJECTS, *MOVES, *TAKES, *DROPS, QUESTION)
            for word in phrase.replace("{}", "").split()
        }
    ),
)
WORD_INDEX = {word: index for index, word in enumerate(VOCABULARY)}
WORDS = 6  # the longest sentence: "sandra went back to the kitchen"
NO_FACT = -1  # in `supporting`, where a question has fewer supporting facts than two
TASKS = {1: "single supporting fact", 2: "two supporting facts"}
TAKE_CHANCE, DROP_CHANCE = 0.25, 0.15  # task 2: how often a sentence tries to take or drop an object (else a move)


@dataclass
class StoryTask(TensorRecord):
    """One story and its questions; in a batch every tensor has a leading [stories] dimension."""

    support_x: torch.Tensor  # [sentences, WORDS], word indices of each sentence
    support_y: torch.Tensor  # [sentences], the position of each sentence in the story (0 first)
    query_x: torch.Tensor  # [questions, WORDS], word indices of each question
    query_y: torch.Tensor  # [questions], the answer: a word index (a place)
    supporting: torch.Tensor  # [questions, 2], the sentences that answer each question, NO_FACT where fewer


class StoryTasks:
    """The family of stories of bAbI task `task` (1 or 2)."""

    task_family = "stories"
    metric = "accuracy"
    vocabulary = VOCABULARY

    def __init__(self, task: int = 1):
        if task not in TASKS:
            raise ValueError(f"task must be 1 ({TASKS[1]}) or 2 ({TASKS[2]}), got {task!r}")
        self.task, self.name = task, f"babi-{task}"

    def sampler(self, split: str = "train", shots: int = 12, queries: int = 3, seed: int | None = 0):
        """Stories of `shots` sentences with `queries` questions each, from one split's stream."""
        return StorySampler(self, split, shots, queries, seed)

    def describe(self, shots: int, queries: int) -> str:
        return f"stories of {shots} sentences, {queries} questions each"

    def text(self, indices: torch.Tensor) -> str:
        """The words of one sentence or question [WORDS], padding left out."""
        return " ".join(VOCABULARY[index] for index in indices.tolist() if index != 0)

    def __repr__(self) -> str:
        return f"<StoryTasks {self.name}: {TASKS[self.task]}, {len(VOCABULARY)} words>"


class StorySampler(TaskStream):
    """Stories from one split's seeded stream: the same seed gives the same stories everywhere."""

    def __init__(self, family: StoryTasks, split: str = "train", shots: int = 12, queries: int = 3, seed=0):
        if split not in SPLITS:
            raise ValueError(f"unknown split {split!r}: choose one of {', '.join(SPLITS)}")
        for name, value in (("shots (sentences per story)", shots), ("queries (questions per story)", queries)):
            check_positive_int(name, value)
        check_seed(seed)
        self.family, self.split, self.shots, self.queries, self.seed = family, split, int(shots), int(queries), seed
        self._rng = np.random.default_rng(None if seed is None else [seed, SPLITS.index(split)])

    def sample(self) -> StoryTask:
        story = None
        while story is None:  # task 2: a story that tells where no object is has nothing to ask
            story = (tell_movements if self.family.task == 1 else tell_objects)(self._rng, self.shots)
        sentences, answerable = story  # answerable: (question, answer, supporting facts) of every question there is
        asked = [answerable[index] for index in self._rng.integers(len(answerable), size=self.queries)]
        return StoryTask(
            support_x=encode(sentences),
            support_y=torch.arange(len(sentences)),
            query_x=encode([question for question, _, _ in asked]),
            query_y=torch.tensor([WORD_INDEX[answer] for _, answer, _ in asked]),
            supporting=torch.tensor([facts + (NO_FACT,) * (2 - len(facts)) for _, _, facts in asked]),
        )

    def __repr__(self) -> str:
        return (
            f"StorySampler({self.family.name} {self.split}: {self.shots} sentences, {self.queries} questions, "
            f"seed={self.seed})"
        )


def tell_movements(rng, sentences: int):
    """Task 1: `sentences` moves of people; the questions "where is PERSON" of each person who moved."""
    told, place_of, last_move = [], {}, {}
    for index in range(sentences):
        person = PEOPLE[rng.integers(len(PEOPLE))]
        place_of[person] = _new_place(rng, place_of.get(person))
        last_move[person] = index
        told.append(f"{person} {MOVES[rng.integers(len(MOVES))]} {place_of[person]}")
    return told, [(f"{QUESTION} {person}", place_of[person], (last_move[person],)) for person in sorted(place_of)]


def tell_objects(rng, sentences: int):
    """Task 2: moves, and objects taken and put down; the questions "where is the OBJECT" of each object whose place
    the story tells, or None when it tells none. An object can be taken only by someone whose place is known and who
    is where it lies (anywhere, if it was never seen), and put down only by who holds it."""
    told, place_of, last_move = [], {}, {}
    holder, lying, facts = {}, {}, {}  # object -> person holding it; object -> place; object -> its supporting facts
    for index in range(sentences):
        roll = rng.random()
        takes = [
            (person, thing)
            for person in PEOPLE
            for thing in OBJECTS
            if person in place_of and thing not in holder and lying.get(thing, place_of[person]) == place_of[person]
        ]
        drops = sorted((person, thing) for thing, person in holder.items())
        if roll < TAKE_CHANCE and takes:
            person, thing = takes[rng.integers(len(takes))]
            holder[thing] = person
            lying.pop(thing, None)
            facts[thing] = index
            told.append(f"{person} {TAKES[rng.integers(len(TAKES))].format(thing)}")
        elif roll < TAKE_CHANCE + DROP_CHANCE and drops:
            person, thing = drops[rng.integers(len(drops))]
            lying[thing] = place_of[person]
            facts[thing] = (index, last_move[person])
            del holder[thing]
            told.append(f"{person} {DROPS[rng.integers(len(DROPS))].format(thing)}")
        else:
            person = PEOPLE[rng.integers(len(PEOPLE))]
            place_of[person] = _new_place(rng, place_of.get(person))
            last_move[person] = index
            told.append(f"{person} {MOVES[rng.integers(len(MOVES))]} {place_of[person]}")
    questions = [
        (f"{QUESTION} the {thing}", place_of[holder[thing]], (facts[thing], last_move[holder[thing]]))
        for thing in sorted(holder)
    ]
    questions += [(f"{QUESTION} the {thing}", lying[thing], facts[thing]) for thing in sorted(lying)]
    return (told, sorted(questions)) if questions else None


def _new_place(rng, current: str | None) -> str:
    """A place other than `current`, so that every move changes where someone is."""
    choices = [place for place in PLACES if place != current]
    return choices[rng.integers(len(choices))]


def encode(texts: list[str]) -> torch.Tensor:
    """Word indices of each text, padded with 0 to WORDS words, [texts, WORDS]."""
    rows = [[WORD_INDEX[word] for word in text.split()] for text in texts]
    return torch.tensor([row + [0] * (WORDS - len(row)) for row in rows])


def single_supporting_fact() -> StoryTasks:
    return StoryTasks(1)


def two_supporting_facts() -> StoryTasks:
    return StoryTasks(2)
