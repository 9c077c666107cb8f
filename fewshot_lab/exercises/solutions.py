"""Instructor solutions to every notebook exercise, for instructors: no notebook imports this module.

Each function has the name and signature of its notebook's starter code. Its docstring is the task as the
notebook states it, in words and shapes but not the formula: the first line is the text of the starter code's
`raise NotImplementedError("TODO: ...")`, so that an unwritten exercise prints the task, not the answer.
tests/test_exercise_solutions.py runs every checker on these solutions and on such starter code.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn
from torch.func import grad

# ---- 7.1 the main concepts ---------------------------------------------------------------------------------


def chance_level(ways):
    """the accuracy of guessing one of the `ways` labels uniformly at random, on average"""
    return 1 / ways


def mean_and_ci95(accuracies):
    """the mean accuracy over the tasks and the half-width of its 95% confidence interval

    accuracies: [tasks], one accuracy per test task. Return the pair (mean, ci95), read as mean ± ci95.
    """
    tasks = len(accuracies)
    return accuracies.mean(), 1.96 * accuracies.std() / tasks**0.5


def predict(learner, support_x, support_y, query_x):
    """one predicted label per query, from the task model that learner.adapt(support_x, support_y) returns

    The task model maps query images to class scores [queries, ways]; return the labels, [queries].
    """
    scores = learner.adapt(support_x, support_y)(query_x)  # [queries, ways]
    return scores.argmax(dim=1)


# ---- 7.2 the main methods ----------------------------------------------------------------------------------


def head_only(named_parameters):
    """the parameters that ANIL's inner loop adapts, as a dict {name: weight}

    named_parameters: {name: weight} of a MAML network whose names start with "body." or "head.". Return the
    network's own tensors, not copies, so that the meta-gradient reaches them.
    """
    return {name: weight for name, weight in named_parameters.items() if name.startswith("head.")}


def meta_sgd_step(weights, gradients, alphas):
    """the adapted weights theta' of one Meta-SGD inner step, as a dict with the names of `weights`

    weights, gradients (of the support loss) and alphas (the learned step sizes): {name: tensor}, every entry of
    its weight's shape.
    """
    return {name: weights[name] - alphas[name] * gradients[name] for name in weights}


def weights_from_errors(errors, temperature):
    """positive weights over the source tasks that sum to 1 and favour the tasks with the lowest error

    errors: [sources], each source task's error on the new task's support set. The lower the temperature, the
    more of the weight goes to the best-fitting tasks. Return [sources].
    """
    return torch.softmax(-errors / temperature, dim=0)


# ---- 7.3 preparing the data: N-way K-shot ------------------------------------------------------------------


def split_classes(classes, val, test, rng):
    """the classes split at random into meta-train, meta-val and meta-test sets that never overlap

    Return (train, val, test) of len(classes) - val - test, val and test classes, which together hold every
    class; rng is a numpy Generator.
    """
    order = rng.permutation(classes)
    return order[val + test :], order[:val], order[val : val + test]


def relabel(item_classes, classes):
    """the task label 0..N-1 of each item, where label i belongs to the dataset class classes[i]

    item_classes: [items], the dataset class of each item; classes: [ways]. Return [items].
    """
    return (item_classes[:, None] == classes[None]).int().argmax(dim=1)  # [items, ways] -> [items]


def sample_task(class_images, ways, shots, queries, rng):
    """the image indices and labels of one N-way K-shot task: (support, support_y, query, query_y)

    class_images[c]: the image indices of class c; rng: a numpy Generator. Draw `ways` different classes, then
    `shots` support and `queries` query images of each, no image in both sets. Labels 0..ways-1 follow the
    order the classes were drawn in; the support set is label-major (all shots of label 0, then of label 1, ...).
    """
    classes = rng.choice(len(class_images), size=ways, replace=False)
    support, query = [], []
    for class_index in classes:
        images = rng.choice(class_images[class_index], size=shots + queries, replace=False)
        support += list(images[:shots])
        query += list(images[shots:])
    labels = np.arange(ways)
    return np.array(support), labels.repeat(shots), np.array(query), labels.repeat(queries)


# ---- 7.4 two simple models ---------------------------------------------------------------------------------


def nearest_centroid(support, support_y, query):
    """the label of the nearest class mean, for each query

    support: [ways * shots, features] in any order; support_y: [ways * shots]; query: [queries, features].
    Return [queries].
    """
    ways = int(support_y.max()) + 1
    centroids = torch.stack([support[support_y == label].mean(0) for label in range(ways)])  # [ways, features]
    return torch.cdist(query, centroids).argmin(dim=1)


def one_nn(support, support_y, query):
    """the label of the single nearest support example, for each query

    support: [ways * shots, features]; support_y: [ways * shots]; query: [queries, features]. Return [queries].
    """
    nearest = torch.cdist(query, support).argmin(dim=1)  # [queries], positions in the support set
    return support_y[nearest]


def head_step(weight, bias, features, labels, lr):
    """the head's (weight, bias) after one gradient-descent step of size lr on the support set

    The head scores features @ weight.T + bias; its loss is the mean cross-entropy over the support set.
    weight: [ways, features]; bias: [ways]; features: [ways * shots, features]; labels: [ways * shots].
    """
    weight, bias = weight.clone().requires_grad_(), bias.clone().requires_grad_()
    loss = nn.functional.cross_entropy(features @ weight.T + bias, labels)
    weight_gradient, bias_gradient = torch.autograd.grad(loss, (weight, bias))
    return weight.detach() - lr * weight_gradient, bias.detach() - lr * bias_gradient


# ---- 7.5 metric-learning models ----------------------------------------------------------------------------


def prototypes(support, support_y):
    """one prototype per class, the mean of its embedded support examples, [ways, features]

    support: [ways * shots, features], in any order; support_y: [ways * shots].
    """
    ways = int(support_y.max()) + 1
    return torch.stack([support[support_y == label].mean(0) for label in range(ways)])


def prototype_scores(query, prototypes):
    """the Prototypical Networks score of every query for every class, [queries, ways]

    query: [queries, features]; prototypes: [ways, features]. A closer prototype gets a higher score.
    """
    return -(torch.cdist(query, prototypes) ** 2)


def cosine_attention(query, support):
    """the Matching Networks attention a(x_hat, x_i) of every query over the support set, [queries, support]

    query: [queries, features] and support: [support, features], both embedded. Compare them by cosine
    similarity; each query's weights are positive and sum to 1.
    """
    similarity = nn.functional.normalize(query, dim=1) @ nn.functional.normalize(support, dim=1).T
    return similarity.softmax(dim=1)  # [queries, support]


# ---- 7.6 Neural-Turing-Machine models ----------------------------------------------------------------------


def previous_labels(labels, ways):
    """the label input of every step of an episode: the one-hot label one step late

    labels: [steps], each in 0..ways-1. Return [steps, ways]; nothing was shown before the first step.
    """
    shown = nn.functional.one_hot(labels, ways).float()  # [steps, ways]
    return torch.cat([torch.zeros(1, ways), shown[:-1]])


def least_used_slots(usage, count):
    """w^lu: 1 at the `count` least-used memory slots of each episode, 0 elsewhere

    usage: [episodes, slots]. Return [episodes, slots].
    """
    order = usage.argsort(dim=-1)  # [episodes, slots], least used first
    return torch.zeros_like(usage).scatter_(-1, order[:, :count], 1.0)


def read(keys, memory, strengths):
    """the read vectors r_t of a read by content, one per head

    keys: [episodes, heads, width]; memory: [episodes, slots, width]; strengths (beta): [episodes, heads].
    Return [episodes, heads, width].
    """
    similarity = nn.functional.normalize(keys, dim=-1) @ nn.functional.normalize(memory, dim=-1).transpose(1, 2)
    weights = (strengths.unsqueeze(-1) * similarity).softmax(dim=-1)  # [episodes, heads, slots]
    return weights @ memory


# ---- 7.7 learned-optimizer models --------------------------------------------------------------------------


def preprocess_gradient(gradient, p):
    """the two LSTM inputs of every gradient, in its log-scale form or, for tiny gradients, its linear form

    gradient: any shape [...]; return [..., 2], the two inputs stacked on a new last dimension.
    """
    large = gradient.abs() >= math.exp(-p)
    magnitude = torch.where(large, gradient.abs().log() / p, -1.0)
    direction = torch.where(large, gradient.sign(), math.exp(p) * gradient)
    return torch.stack([magnitude, direction], dim=-1)


def metalstm_update(theta, gradient, input_gate, forget_gate):
    """theta_t, the LSTM cell update whose cell state is theta and whose candidate cell state is minus the gradient

    theta (theta_{t-1}), gradient, input_gate (i_t) and forget_gate (f_t): [coordinates]. Return [coordinates].
    """
    return forget_gate * theta - input_gate * gradient


def sgd_gates(learning_rate, weight_decay):
    """the constant gates (input_gate, forget_gate) that make the Meta-LSTM update SGD with weight decay"""
    return learning_rate, 1 - learning_rate * weight_decay


# ---- 7.8 learned-initialisation models ---------------------------------------------------------------------


def inner_step(support_loss, theta, inner_lr):
    """theta': one gradient-descent step of size inner_lr on the support loss from theta, as a dict

    support_loss(parameters) is L_S at the weights `parameters`, a dict {name: tensor} like theta. theta' must
    stay differentiable with respect to theta, so that the meta-gradient keeps its second-order term.
    """
    gradients = grad(support_loss)(theta)  # {name: dL_S/dtheta}, differentiable in theta
    return {name: theta[name] - inner_lr * gradients[name] for name in theta}


def first_order_meta_gradient(support_loss, query_loss, theta, inner_lr):
    """the meta-gradient that first-order MAML applies to theta for one task, as a dict

    support_loss and query_loss take a dict of weights {name: tensor}, like theta. First-order MAML treats the
    inner step's gradient as a constant.
    """
    gradients = grad(support_loss)(theta)
    adapted = {name: (theta[name] - inner_lr * gradients[name]).detach() for name in theta}
    return grad(query_loss)(adapted)


def reptile_update(theta, adapted, epsilon):
    """the new meta-parameters after Reptile's outer step on one task, as a dict

    theta: the meta-parameters; adapted: the weights after k SGD steps on the task, from theta; epsilon: the
    outer step size, between 0 and 1.
    """
    return {name: theta[name] + epsilon * (adapted[name] - theta[name]) for name in theta}
