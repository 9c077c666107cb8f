"""The checkers of notebook 7.2's exercises, against right and typical wrong answers."""

import torch

from fewshot_lab.exercises.s72 import check_head_only, check_meta_sgd_step, check_similarity_weights


def test_head_only():
    right = check_head_only(lambda named: {name: weight for name, weight in named.items() if name.startswith("head.")})
    assert right and "41 of 1761" in str(right)
    assert "MAML end of the dial" in str(check_head_only(lambda named: named))
    assert "that is the body" in str(
        check_head_only(lambda named: {n: w for n, w in named.items() if n.startswith("body.")})
    )
    copied = check_head_only(lambda named: {n: w.clone() for n, w in named.items() if n.startswith("head.")})
    assert not copied and "not the network's own tensor" in str(copied)
    assert "returned a list" in str(check_head_only(lambda named: list(named)))


def test_meta_sgd_step():
    assert check_meta_sgd_step(lambda w, g, a: {n: w[n] - a[n] * g[n] for n in w})
    assert "against the gradient" in str(check_meta_sgd_step(lambda w, g, a: {n: w[n] + a[n] * g[n] for n in w}))
    assert "elementwise" in str(check_meta_sgd_step(lambda w, g, a: {n: w[n] - a[n].mean() * g[n] for n in w}))
    assert "theta minus it" in str(check_meta_sgd_step(lambda w, g, a: {n: a[n] * g[n] for n in w}))
    unwritten = check_meta_sgd_step(lambda w, g, a: (_ for _ in ()).throw(NotImplementedError("TODO")))
    assert not unwritten and "not written yet" in str(unwritten)


def test_similarity_weights():
    assert check_similarity_weights(lambda errors, t: torch.softmax(-errors / t, dim=0))
    assert "Negate the errors" in str(check_similarity_weights(lambda errors, t: torch.softmax(errors / t, dim=0)))
    assert "temperature is missing" in str(check_similarity_weights(lambda errors, t: torch.softmax(-errors, dim=0)))
    assert "all alike" in str(check_similarity_weights(lambda errors, t: torch.full_like(errors, 0.25)))
    assert "forget the `return`" in str(check_similarity_weights(lambda errors, t: None))
