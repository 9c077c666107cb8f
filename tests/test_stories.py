"""Stories with questions (7.6), bAbI-style tasks 1 and 2 generated from a grammar: the answers and supporting facts
agree with a reader of the story's text, the streams are seeded, and bad requests are refused."""

import pytest
import torch

from fewshot_lab.data import load_dataset, make_sampler
from fewshot_lab.data.stories import NO_FACT, VOCABULARY, WORDS, StoryTasks, encode

TAKEN = {"got", "picked", "grabbed", "took"}
DROPPED = {"dropped", "discarded", "put", "left"}


def read_story(sentences: list[str]) -> dict:
    """Where each person and object is at the end of a story, read from its text alone (a reference answer, written
    independently of the generator), with the sentences that say so."""
    place, moved, holder, lying, facts = {}, {}, {}, {}, {}
    for index, sentence in enumerate(sentences):
        words = sentence.split()
        person = words[0]
        if TAKEN & set(words):
            thing = words[words.index("the") + 1]
            assert thing not in holder and lying.get(thing, place[person]) == place[person], sentence
            holder[thing], facts[thing] = person, [index]
            lying.pop(thing, None)
        elif DROPPED & set(words):
            thing = words[-1]
            assert holder.pop(thing) == person, sentence
            lying[thing], facts[thing] = place[person], [index, moved[person]]
        else:
            assert words[-2] == "the" and "to" in words, sentence
            place[person], moved[person] = words[-1], index
    where = {person: (place[person], [moved[person]]) for person in place}
    where |= {thing: (place[person], [facts[thing][0], moved[person]]) for thing, person in holder.items()}
    where |= {thing: (spot, facts[thing]) for thing, spot in lying.items()}
    return where


@pytest.mark.parametrize("task", [1, 2])
def test_every_answer_and_supporting_fact_agrees_with_a_reading_of_the_story(task):
    stories = StoryTasks(task)
    for story in stories.sampler("train", shots=14, queries=4, seed=3).take(300):
        sentences = [stories.text(sentence) for sentence in story.support_x]
        where = read_story(sentences)
        for question, answer, supporting in zip(story.query_x, story.query_y, story.supporting):
            words = stories.text(question).split()
            assert words[:2] == ["where", "is"] and (len(words) == 3) == (task == 1)
            place, facts = where[words[-1]]
            assert VOCABULARY[answer] == place
            assert sorted(fact for fact in supporting.tolist() if fact != NO_FACT) == sorted(set(facts))


def test_task_1_asks_about_people_and_task_2_about_objects_needing_two_facts():
    one = StoryTasks(1).sampler("test", shots=10, queries=3, seed=0).sample_batch(50)
    two = StoryTasks(2).sampler("test", shots=10, queries=3, seed=0).sample_batch(50)
    assert (one.supporting[..., 1] == NO_FACT).all() and (one.supporting[..., 0] >= 0).all()
    assert (two.supporting >= 0).all()  # who has it (or where it was put down), and where they went
    people = {VOCABULARY.index(person) for person in ("mary", "john", "sandra", "daniel")}
    assert set(one.query_x[..., 2].unique().tolist()) <= people
    assert (two.query_x[..., 2] == VOCABULARY.index("the")).all()


def test_stories_are_index_tensors_over_one_vocabulary_and_seeded():
    stories = load_dataset("babi-2")
    assert stories.name == "babi-2" and stories.vocabulary[0] == "<pad>" and len(set(VOCABULARY)) == len(VOCABULARY)
    task = stories.sampler("test", shots=12, queries=3, seed=0).sample()
    assert task.support_x.shape == (12, WORDS) and task.query_x.shape == (3, WORDS) and task.query_y.shape == (3,)
    assert task.support_x.dtype == task.query_y.dtype == torch.long and torch.equal(task.support_y, torch.arange(12))
    assert (task.support_x[:, 0] != 0).all() and stories.text(task.support_x[0]).split()[0] in VOCABULARY
    assert torch.equal(encode(["where is mary"])[0, 3:], torch.zeros(3, dtype=torch.long))  # padded with 0
    again = make_sampler(stories, "test", shots=12, queries=3, seed=0).sample()  # the protocol's sampler
    assert torch.equal(again.support_x, task.support_x) and torch.equal(again.query_y, task.query_y)
    other = stories.sampler("val", shots=12, queries=3, seed=0).sample()
    assert not torch.equal(other.support_x, task.support_x)  # the splits are different streams
    batch = stories.sampler("train", shots=5, queries=2, seed=1).sample_batch(4)
    assert batch.support_x.shape == (4, 5, WORDS) and batch.supporting.shape == (4, 2, 2)


def test_bad_requests_are_refused_in_the_callers_words():
    with pytest.raises(ValueError, match="task must be 1 \\(single supporting fact\\) or 2"):
        StoryTasks(3)
    with pytest.raises(ValueError, match="shots \\(sentences per story\\) must be a positive integer, got 0"):
        StoryTasks(1).sampler("train", shots=0)
    with pytest.raises(ValueError, match="queries \\(questions per story\\) must be a positive integer"):
        StoryTasks(1).sampler("train", shots=3, queries=0)
    with pytest.raises(ValueError, match="unknown split 'dev'"):
        StoryTasks(2).sampler("dev")
    with pytest.raises(ValueError, match="babi-1 has no alphabets"):
        make_sampler(StoryTasks(1), "test", within_alphabet=True)
