"""The exercise checkers: the framework, and every checker against a right and a typical wrong answer."""
import pytest
import torch

from fewshot_lab.exercises import Feedback, Mistake, call, checker, expect, require


@checker
def check_double(double):
    """A checker for the framework's tests: double(x) must return 2 * x."""
    values = torch.arange(6.0).reshape(2, 3)
    expect(call(double, values), 2 * values, "the doubled values",
           mistakes={"you added 2 instead of multiplying by 2": values + 2,
                     "you doubled a flattened copy: keep the input's shape": (2 * values).flatten()})
    return "Right: every value doubled."


def test_feedback_prints_a_mark_and_the_message():
    assert str(Feedback(True, "Right.")) == "✓ Right." and repr(Feedback(False, "a")) == "✗ Not yet: a"
    assert Feedback(True, "") and not Feedback(False, "")


def test_a_right_answer_gets_the_success_message():
    feedback = check_double(lambda x: x * 2)
    assert feedback.ok and feedback.message == "Right: every value doubled."


def test_a_known_mistake_gets_its_hint():
    assert check_double(lambda x: x + 2).message == "you added 2 instead of multiplying by 2"


def test_a_wrong_shape_names_both_shapes_and_the_hint_of_that_shape():
    message = check_double(lambda x: (3 * x).flatten()).message
    assert message == ("the shape of the doubled values is [6]; expected [2, 3]. "
                       "you doubled a flattened copy: keep the input's shape")


def test_wrong_values_point_at_the_worst_entry():
    message = check_double(lambda x: 2 * x + (x == 4))
    assert message.message == "the values of the doubled values are off, the largest difference at index [1, 1]: yours 9, expected 8"


def test_errors_in_the_learners_code_are_reported():
    def todo(x):
        raise NotImplementedError("TODO: double x")

    assert check_double(todo).message == "todo is not written yet (TODO: double x): fill in the TODO"
    assert check_double(lambda x: x.nonexistent()).message.startswith("<lambda> raised AttributeError")
    assert check_double(lambda x: None).message == "<lambda> returned None: did you forget the `return`?"
    assert "expected a function" in check_double(torch.zeros(2, 3)).message
    assert check_double(lambda x: "two").message == "the doubled values should be a tensor or a number, got str"
    assert "NaN" in check_double(lambda x: x / 0 * 0).message


def test_the_answer_cannot_change_the_checkers_cases():
    def in_place(x):
        return x.mul_(2)

    assert check_double(in_place).ok


def test_numbers_compare_with_a_tolerance_and_require_raises():
    expect(0.2000001, torch.tensor(0.2), "chance")
    with pytest.raises(Mistake, match=r"^the values of chance are off: yours 0.25, expected 0.2$"):
        expect(0.25, 0.2, "chance")
    with pytest.raises(Mistake, match="^the classes overlap$"):
        require(False, "the classes overlap")
