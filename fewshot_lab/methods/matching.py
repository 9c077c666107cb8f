"""Matching Networks (Vinyals, Blundell, Lillicrap, Kavukcuoglu & Wierstra 2016), section 7.5.

The support set S = {(x_i, y_i)} is an external memory that a query x_hat reads by soft attention;
the prediction is the attention-weighted mixture of the support labels (y_i one-hot):

    P(y | x_hat, S) = sum_i a(x_hat, x_i) y_i                                         (eq. 1)
    a(x_hat, x_i) = exp(c(f(x_hat), g(x_i))) / sum_j exp(c(f(x_hat), g(x_j)))          (eq. 2)

with c the cosine similarity. Meta-training minimises -log P(y | x_hat, S) over the query set of each
task: the task model returns log P, which Learner.query_loss's cross-entropy takes as it is (log_softmax
leaves log-probabilities that already sum to 1 unchanged).

f and g are one embedding network f' = g' by default. With full context embeddings (FCE, the paper's
appendix) both embeddings see the whole support set:

    g(x_i, S) = g'(x_i) + h_i(forward) + h_i(backward)     (a bidirectional LSTM over g'(x_1), ..., g'(x_n))
    f(x_hat, S) = attLSTM(f'(x_hat), g(S), K) = h_K, where, from h_0 = f'(x_hat) and c_0 = 0, K reads do
        r_{k-1} = sum_i softmax_i(h_{k-1} . g(x_i)) g(x_i)                  (read the support memory)
        h_hat_k, c_k = LSTM(f'(x_hat), [h_{k-1}, r_{k-1}], c_{k-1})
        h_k = h_hat_k + f'(x_hat)

The paper leaves K open; fce_steps defaults to 5 reads.

scale: the cosine lies in [-1, 1] (in [0, 1] after a ReLU embedding such as conv4), so a softmax over
plain cosines stays nearly flat: with 5 support items, a query identical to one of them and orthogonal
to the other four still gives it only e / (e + 4) = 40% of the attention, and the loss keeps pushing on
tasks already solved. Multiplying the cosine by scale (10 by default, as many reimplementations do)
lets the attention become sharp (99.98% in that example); scale=1 is the paper's plain cosine.
"""

from __future__ import annotations

import torch
from torch import nn

from fewshot_lab.backbones import conv4
from fewshot_lab.checks import check_positive_int
from fewshot_lab.learner import Learner


class MatchingNetwork(Learner):
    """Labels a query by attention over the support set: log sum_i a(x_hat, x_i) y_i for each class.

    embedding: the network f' = g', [batch, C, H, W] -> [batch, features]; conv4() (1-channel images)
        by default.
    scale: multiplies the cosine similarities before the softmax of eq. 2 (see the module docstring).
    full_context: use the full context embeddings g(x_i, S) and f(x_hat, S); they need `features`, the
        size of the embedding's output (64 for conv4 on 28x28 images).
    fce_steps: K, the number of reads of the attention LSTM f.
    """

    method = "matching"
    compares_embeddings = True

    def __init__(
        self,
        embedding: nn.Module | None = None,
        scale: float = 10.0,
        full_context: bool = False,
        features: int | None = None,
        fce_steps: int = 5,
    ):
        super().__init__()
        if embedding is not None and not isinstance(embedding, nn.Module):
            raise TypeError(f"embedding must be a torch.nn.Module, got {type(embedding).__name__}")
        if not isinstance(scale, (int, float)) or not scale > 0:
            raise ValueError(f"scale must be a positive number (it multiplies the cosine similarities), got {scale!r}")
        if full_context and (not isinstance(features, int) or features < 1):
            raise ValueError(
                "full_context=True needs features=, the size of the embedding's output "
                f"(64 for conv4 on 28x28 images), got features={features!r}"
            )
        check_positive_int("fce_steps (K, the reads of the attention LSTM)", fce_steps)
        self.embedding = embedding if embedding is not None else conv4()
        self.scale, self.full_context, self.fce_steps = float(scale), full_context, fce_steps
        if full_context:
            self.support_lstm = nn.LSTM(features, features, bidirectional=True)  # g: reads the support set both ways
            # An LSTM whose hidden state is [h, r] has gates W_x f' + W_h h + W_r r + b: the same as an
            # LSTM cell fed [f', r] with hidden state h.
            self.attention_lstm = nn.LSTMCell(2 * features, features)  # f: the attention LSTM

    def embed_support(self, support_x: torch.Tensor) -> torch.Tensor:
        """g(x_i, S) for every support item, [ways * shots, features]."""
        support = self.embedding(support_x)  # [ways * shots, features], g'(x_i)
        if not self.full_context:
            return support
        both_ways, _ = self.support_lstm(support)  # [ways * shots, 2 * features]
        forward, backward = both_ways.chunk(2, dim=1)
        return support + forward + backward

    def embed_query(self, query_x: torch.Tensor, support: torch.Tensor) -> torch.Tensor:
        """f(x_hat, S) for every query, [queries, features], given the embedded support g(S)."""
        query = self.embedding(query_x)  # [queries, features], f'(x_hat)
        if not self.full_context:
            return query
        hidden, cell = query, torch.zeros_like(query)  # h_0, c_0
        for _ in range(self.fce_steps):
            readout = (hidden @ support.T).softmax(dim=1) @ support  # [queries, features], r_{k-1}
            hidden, cell = self.attention_lstm(torch.cat([query, readout], dim=1), (hidden, cell))
            hidden = hidden + query
        return hidden

    def log_attention(self, query: torch.Tensor, support: torch.Tensor) -> torch.Tensor:
        """log a(x_hat, x_i) from embedded queries and support, [queries, ways * shots] (eq. 2)."""
        cosine = nn.functional.normalize(query, dim=1) @ nn.functional.normalize(support, dim=1).T
        return (self.scale * cosine).log_softmax(dim=1)

    def attention(self, support_x: torch.Tensor, support_y: torch.Tensor, query_x: torch.Tensor) -> torch.Tensor:
        """a(x_hat, x_i): how much each query reads each support item, [queries, ways * shots], rows summing to 1.

        The labels play no part in where a query looks, only in what it reads; support_y is taken so
        that the call mirrors predict(support_x, support_y, query_x).
        """
        support = self.embed_support(support_x)
        return self.log_attention(self.embed_query(query_x, support), support).exp()

    def adapt(self, support_x: torch.Tensor, support_y: torch.Tensor):
        ways = int(support_y.max()) + 1
        support = self.embed_support(support_x)  # [ways * shots, features], g(x_i, S)
        log_labels = nn.functional.one_hot(support_y, ways).to(support.dtype).log()  # [ways * shots, ways], 0 or -inf

        def scores(query_x: torch.Tensor) -> torch.Tensor:
            log_attention = self.log_attention(self.embed_query(query_x, support), support)  # [queries, ways * shots]
            # log P(y = k | x_hat, S) = log sum_i a(x_hat, x_i) y_ik, summed in log space so no class underflows
            return torch.logsumexp(log_attention.unsqueeze(2) + log_labels, dim=1)  # [queries, ways]

        return scores
