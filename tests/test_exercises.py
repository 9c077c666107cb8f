"""The exercise checkers: the framework, and every checker against a right and a typical wrong answer."""

import pytest
import torch

from fewshot_lab.exercises import Feedback, Mistake, call, checker, expect, require


@checker
def check_double(double):
    """A checker for the framework's tests: double(x) must return 2 * x."""
    values = torch.arange(6.0).reshape(2, 3)
    expect(
        call(double, values),
        2 * values,
        "the doubled values",
        mistakes={
            "you added 2 instead of multiplying by 2": values + 2,
            "you doubled a flattened copy: keep the input's shape": (2 * values).flatten(),
        },
    )
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
    assert message == (
        "the shape of the doubled values is [6]; expected [2, 3]. You doubled a flattened copy: keep the input's shape"
    )


def test_wrong_values_point_at_the_worst_entry():
    message = check_double(lambda x: 2 * x + (x == 4))
    assert (
        message.message
        == "the values of the doubled values are off, the largest difference at index [1, 1]: yours 9, expected 8"
    )


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
    with pytest.raises(Mistake, match=r"^the classes overlap$"):
        require(False, "the classes overlap")


# ---- every notebook's checkers: a right answer passes, a typical wrong one is named -----------------------


def assert_named(feedback, *words):
    assert not feedback.ok and all(word in feedback.message for word in words), feedback.message


def test_s71_chance_level_confidence_interval_and_prediction():
    from fewshot_lab.exercises import s71

    assert s71.check_chance_level(lambda ways: 1 / ways).ok
    assert_named(s71.check_chance_level(lambda ways: 1 / (ways - 1)), "probability 1/5")
    assert s71.check_mean_and_ci95(lambda values: (values.mean(), 1.96 * values.std() / len(values) ** 0.5)).ok
    assert_named(s71.check_mean_and_ci95(lambda values: (values.mean(), 1.96 * values.std())), "sqrt(tasks)")
    assert_named(s71.check_mean_and_ci95(lambda values: values.mean()), "return a pair")
    assert s71.check_predict(lambda learner, sx, sy, qx: learner.adapt(sx, sy)(qx).argmax(dim=1)).ok
    assert_named(s71.check_predict(lambda learner, sx, sy, qx: learner.adapt(sx, sy)(qx)), "argmax over dim=1")


def test_s73_split_relabel_and_sampler():
    import numpy as np

    from fewshot_lab.exercises import s73

    def split(classes, val, test, rng):
        order = rng.permutation(classes)
        return order[val + test :], order[:val], order[val : val + test]

    def independent(classes, val, test, rng):
        return tuple(rng.choice(classes, size, replace=False) for size in (len(classes) - val - test, val, test))

    assert s73.check_split_classes(split).ok
    assert_named(s73.check_split_classes(independent), "is in both meta-", "shuffle the classes once")
    assert s73.check_relabel(lambda items, classes: (items[:, None] == classes).int().argmax(dim=1)).ok
    assert_named(s73.check_relabel(lambda items, classes: torch.unique(items, return_inverse=True)[1]), "sorted order")

    def sampler(replace_classes=False, split_images=True):
        def sample_task(class_images, ways, shots, queries, rng):
            support, query = [], []
            for label in rng.choice(len(class_images), size=ways, replace=replace_classes):
                if split_images:
                    images = rng.permutation(class_images[label])[: shots + queries]
                    support, query = support + list(images[:shots]), query + list(images[shots:])
                else:
                    support += list(rng.choice(class_images[label], size=shots, replace=False))
                    query += list(rng.choice(class_images[label], size=queries, replace=False))
            labels = np.arange(ways)
            return np.array(support), labels.repeat(shots), np.array(query), labels.repeat(queries)

        return sample_task

    assert s73.check_sample_task(sampler()).ok
    assert_named(s73.check_sample_task(sampler(replace_classes=True)), "without replacement")
    assert_named(s73.check_sample_task(sampler(split_images=False)), "in both the support and the query set")


def test_s74_nearest_centroid_one_nn_and_head_step():
    from fewshot_lab.exercises import s74

    def centroid(support, support_y, query):
        centroids = torch.stack([support[support_y == label].mean(0) for label in range(int(support_y.max()) + 1)])
        return torch.cdist(query, centroids).argmin(dim=1)

    def blocks(support, support_y, query):
        return torch.cdist(query, support.view(3, 3, -1).mean(1)).argmin(dim=1)

    assert s74.check_nearest_centroid(centroid).ok
    assert_named(s74.check_nearest_centroid(blocks), "any order")
    assert s74.check_one_nn(lambda support, support_y, query: support_y[torch.cdist(query, support).argmin(1)]).ok
    assert_named(
        s74.check_one_nn(lambda support, support_y, query: torch.cdist(query, support).argmin(1)),
        "positions of the nearest support examples",
    )

    def gradients(weight, bias, features, labels, lr):
        weight, bias = weight.clone().requires_grad_(), bias.clone().requires_grad_()
        torch.nn.functional.cross_entropy(features @ weight.T + bias, labels).backward()
        return weight.grad, bias.grad

    def head_step(weight, bias, features, labels, lr, sign=-1):
        weight_gradient, bias_gradient = gradients(weight, bias, features, labels, lr)
        return weight + sign * lr * weight_gradient, bias + sign * lr * bias_gradient

    assert s74.check_head_step(head_step).ok
    assert_named(s74.check_head_step(lambda *args: head_step(*args, sign=1)), "climb the loss")
    assert_named(s74.check_head_step(gradients), "these are the gradients, not the new weights")


def test_s75_prototypes_scores_and_attention():
    from fewshot_lab.exercises import s75

    normalize = torch.nn.functional.normalize
    assert s75.check_prototypes(lambda support, y: torch.stack([support[y == k].mean(0) for k in range(5)])).ok
    assert_named(
        s75.check_prototypes(lambda support, y: support.view(5, 3, -1).mean(1, keepdim=True)),
        "[5, 1, 8]; expected [5, 8]",
        "keepdim=True",
    )
    assert s75.check_prototype_scores(lambda query, prototypes: -(torch.cdist(query, prototypes) ** 2)).ok
    assert_named(s75.check_prototype_scores(lambda query, prototypes: torch.cdist(query, prototypes) ** 2), "negate")
    assert s75.check_cosine_attention(lambda q, s: (normalize(q, dim=1) @ normalize(s, dim=1).T).softmax(1)).ok
    assert_named(s75.check_cosine_attention(lambda q, s: (q @ s.T).softmax(1)), "cosine similarity")


def test_s77_preprocessing_and_metalstm_gates():
    import math

    from fewshot_lab.exercises import s77

    def preprocess(gradient, p, divide=True):
        magnitude = gradient.abs()
        large = magnitude >= math.exp(-p)
        scale = torch.where(large, magnitude.log() / (p if divide else 1), -1.0)
        return torch.stack([scale, torch.where(large, gradient.sign(), math.exp(p) * gradient)], dim=-1)

    assert s77.check_preprocess(preprocess).ok
    assert_named(s77.check_preprocess(lambda gradient, p: preprocess(gradient, p, divide=False)), "divide the log by p")
    assert_named(
        s77.check_preprocess(lambda gradient, p: torch.stack([gradient.abs().log() / p, gradient.sign()], dim=-1)),
        "gradients smaller than e^-p",
    )
    assert s77.check_metalstm_update(lambda theta, gradient, i, f: f * theta - i * gradient).ok
    assert_named(s77.check_metalstm_update(lambda theta, gradient, i, f: f * theta + i * gradient), "climbs the loss")
    assert_named(
        s77.check_metalstm_update(lambda theta, gradient, i, f: theta - i * gradient), "forget gate must scale"
    )
    assert s77.check_sgd_gates(lambda lr, decay: (lr, 1 - lr * decay)).ok
    assert_named(s77.check_sgd_gates(lambda lr, decay: (lr, 1.0)), "1 - lr * weight_decay")


def test_s78_inner_step_first_order_and_reptile():
    from torch.func import grad

    from fewshot_lab.exercises import s78

    def inner_step(support_loss, theta, inner_lr, create_graph=True):
        gradients = torch.autograd.grad(support_loss(theta), list(theta.values()), create_graph=create_graph)
        return {name: theta[name] - inner_lr * gradient for name, gradient in zip(theta, gradients)}

    def first_order(support_loss, query_loss, theta, inner_lr):
        adapted = inner_step(support_loss, theta, inner_lr, create_graph=False)
        return grad(query_loss)({name: weight.detach() for name, weight in adapted.items()})

    assert s78.check_inner_step(inner_step).ok
    assert_named(s78.check_inner_step(lambda *args: inner_step(*args, create_graph=False)), "first-order MAML")
    assert_named(
        s78.check_inner_step(lambda support_loss, theta, inner_lr: grad(support_loss)(theta)),
        "these are the gradients, not the adapted weights",
    )
    assert s78.check_first_order_meta_gradient(first_order).ok
    assert_named(
        s78.check_first_order_meta_gradient(lambda support_loss, query_loss, theta, lr: grad(query_loss)(theta)),
        "query gradient at theta",
    )
    assert s78.check_reptile_update(
        lambda theta, adapted, eps: {n: theta[n] + eps * (adapted[n] - theta[n]) for n in theta}
    ).ok
    assert_named(s78.check_reptile_update(lambda theta, adapted, eps: adapted), "epsilon = 1")
