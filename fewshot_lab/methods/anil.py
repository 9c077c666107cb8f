"""ANIL (Raghu, Raghu, Bengio & Vinyals 2020, "Rapid Learning or Feature Reuse?"), section 7.8: Almost No Inner Loop.

MAML (fewshot_lab.methods.maml) with the network split into a body f_phi and a head w; only the head adapts:

    w'_i = w - alpha * grad_w L_{S_i}(w; f_phi)                   (inner loop: the head only)
    min_{phi, w}  sum_i L_{Q_i}(w'_i; f_phi)                      (outer loop: body and head)

The body is shared as it is by every task (feature reuse). Where the tasks are looped over (task_batching "loop",
the choice for a convolutional body on a CPU) its features of the support set are computed once per task and the
inner loop gets much cheaper; under vmap the whole network runs at every inner step, with the same gradients.
"""

from __future__ import annotations

import torch
from torch.func import functional_call

from fewshot_lab.methods.maml import MAML


class ANIL(MAML):
    """ANIL (Raghu et al. 2020): the inner loop adapts the head only; the body is meta-learned by the outer
    loop alone, and, looping over the tasks, its features of the support set are computed once per task."""

    method = "anil"

    def fast_parameters(self) -> dict[str, torch.Tensor]:
        return {name: weight for name, weight in self.network.named_parameters() if name.startswith("head.")}

    def support_scores(self, support_x: torch.Tensor):
        features = self.functional({}, support_x, module="body")  # [support, features]

        def scores(parameters: dict) -> torch.Tensor:
            head = {name.removeprefix("head."): weight for name, weight in parameters.items()}
            return functional_call(self.network.head, head, (features,))  # [support, ways]

        return scores
