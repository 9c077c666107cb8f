"""End-to-end memory network, MemN2N (Sukhbaatar, Szlam, Weston & Fergus 2015), section 7.6, answering questions about
stories (fewshot_lab.data.stories, bAbI-style tasks 1 and 2).

The sentences x_1..x_n of a story are written into memory twice, as input memories m_i and output memories c_i;
a question q becomes the state u; then each of K hops reads the memory by soft attention and adds what it read:

    m_i = sum_j l_j * A x_ij + T_A(i),   c_i = sum_j l_j * C x_ij + T_C(i)     (memories, section 4.1)
    u^1 = sum_j l_j * B q_j                                                     (the question)
    p_i = softmax_i(u^k . m_i)                                                  (attention, eq. 1)
    o^k = sum_i p_i c_i                                                         (what the hop reads, eq. 2)
    u^{k+1} = u^k + o^k                                                         (section 2.2)
    a = softmax(W u^{K+1})                                                      (the answer word, eq. 3)

x_ij is the j-th word of sentence i, A x_ij its embedding. Position encoding (section 4.1): l_kj = (1 - j/J) -
(k/d)(1 - 2j/J) for the k-th of the d embedding dimensions of the j-th of the J words of a sentence, so that word
order counts ("mary went to the kitchen" is not "the kitchen went to mary"); without it, l_j = 1, a bag of words.
Temporal encoding T(i): a learned vector for each sentence's age (0 for the last sentence), since "where is mary" is
answered by her *last* move. Adjacent weight tying (section 2.2): each hop's output embedding is the next hop's
input embedding, A^{k+1} = C^k (with T_A^{k+1} = T_C^k), the question embedding is the first, B = A^1, and the
answer matrix is the last, W^T = C^K: K + 1 embedding matrices in all. The memory keeps the memory_size most recent
sentences (the paper's 50).

Linear start (section 4.2): for the first linear_start training steps the attention is p_i = u^k . m_i, without the
softmax, which is then put back. With the softmax from the start, the first hop's attention stays nearly uniform and
gives the later hops nothing to build on; on two supporting facts the network then settles near 35% (results/
memnet_stories.md). The learner counts its training steps (training_steps, saved with its weights).

What is learned where: the embeddings (slow, across stories, by gradient descent) and the memory of one story
(fast: written once by adapt, with no gradient step, and read by every question about it). Learner protocol
(fewshot_lab.learner): adapt(support_x, support_y) writes the sentences [sentences, words] with their positions
support_y into memory; the model of the task maps questions [questions, words] to scores over the vocabulary.
"""

from __future__ import annotations

import torch
from torch import nn

from fewshot_lab.checks import check_positive_int
from fewshot_lab.data.stories import VOCABULARY
from fewshot_lab.learner import Learner

INITIAL_STD = 0.1  # the paper's initial weights: N(0, 0.1)


class EndToEndMemoryNetwork(Learner):
    """MemN2N with adjacent weight tying (Sukhbaatar et al. 2015).

    hops: K; dimensions: d, the size of every embedding; vocabulary: the number of words (indices 0 to
    vocabulary - 1, 0 the padding); position_encoding: l_kj as above (else a bag of words); temporal_encoding: T_A,
    T_C; memory_size: how many of a story's most recent sentences the memory keeps; linear_start: training steps
    with linear attention before the softmax is put in (0: softmax from the start).
    """

    method = "memnet"
    task_family = "stories"

    def __init__(
        self,
        hops: int = 3,
        dimensions: int = 20,
        vocabulary: int = len(VOCABULARY),
        position_encoding: bool = True,
        temporal_encoding: bool = True,
        memory_size: int = 50,
        linear_start: int = 0,
    ):
        super().__init__()
        for name, value in (("hops", hops), ("dimensions", dimensions), ("memory_size", memory_size)):
            check_positive_int(name, value)
        if isinstance(linear_start, bool) or not isinstance(linear_start, int) or linear_start < 0:
            raise ValueError(f"linear_start must be a number of training steps (0 or more), got {linear_start!r}")
        if isinstance(vocabulary, bool) or not isinstance(vocabulary, int) or vocabulary < 2:
            raise ValueError(f"vocabulary must count the padding and at least one word, got {vocabulary!r}")
        self.hops, self.vocabulary, self.memory_size = hops, vocabulary, memory_size
        self.position_encoding, self.temporal_encoding = position_encoding, temporal_encoding
        # E_0 = B = A^1, E_k = C^k = A^{k+1}, E_K = C^K = W^T
        self.embeddings = nn.ModuleList(nn.Embedding(vocabulary, dimensions) for _ in range(hops + 1))
        for table in self.embeddings:
            nn.init.normal_(table.weight, std=INITIAL_STD)
        if temporal_encoding:  # T_0 = T_A^1, T_k = T_C^k = T_A^{k+1}
            self.ages = nn.Parameter(torch.randn(hops + 1, memory_size, dimensions) * INITIAL_STD)
        self.linear_start = linear_start
        self.register_buffer("training_steps", torch.zeros((), dtype=torch.long))  # training_loss calls so far

    def encode(self, words: torch.Tensor, table: int) -> torch.Tensor:
        """sum_j l_j * E x_j for texts of word indices [..., words] with embedding `table`: [..., embedding]. The
        padding (index 0) counts for nothing."""
        embedded = self.embeddings[table](words) * (words != 0).unsqueeze(-1)  # [..., words, embedding]
        if not self.position_encoding:
            return embedded.sum(-2)
        dimensions = embedded.shape[-1]
        length = (words != 0).sum(-1, keepdim=True).clamp_min(1).unsqueeze(-1)  # [..., 1, 1], J
        j = torch.arange(1, words.shape[-1] + 1, device=words.device).view(-1, 1)  # [words, 1]
        k = torch.arange(1, dimensions + 1, device=words.device)  # [embedding]
        weights = (1 - j / length) - (k / dimensions) * (1 - 2 * j / length)  # [..., words, embedding], l_kj
        return (weights.to(embedded.dtype) * embedded).sum(-2)

    def write(self, sentences: torch.Tensor, positions: torch.Tensor):
        """The memories of stories, sentences [stories, sentences, words] at positions [stories, sentences]: one
        embedding per table [hops + 1, stories, sentences, embedding] (table k - 1 is hop k's m_i, table k its c_i)
        and which sentences the memory keeps [stories, sentences]."""
        ages = positions.max(-1, keepdim=True).values - positions  # [stories, sentences], 0 for the last sentence
        kept = ages < self.memory_size
        memories = torch.stack([self.encode(sentences, table) for table in range(self.hops + 1)])
        if self.temporal_encoding:
            memories = memories + self.ages[:, ages.clamp_max(self.memory_size - 1)]
        return memories, kept

    def read(self, memory, questions: torch.Tensor, record: bool = False):
        """Answer scores [stories, questions, vocabulary] for questions [stories, questions, words] about the stories
        in `memory` (from write), and (record=True) the attention p of every hop [hops, stories, questions,
        sentences], else None."""
        memories, kept = memory
        state = self.encode(questions, 0)  # [stories, questions, embedding], u^1
        attention = []
        for hop in range(1, self.hops + 1):
            logits = state @ memories[hop - 1].transpose(1, 2)  # [stories, questions, sentences], u^k . m_i
            if self.training_steps < self.linear_start:  # linear start: p_i = u^k . m_i
                weights = logits.masked_fill(~kept.unsqueeze(1), 0.0)
            else:
                weights = logits.masked_fill(~kept.unsqueeze(1), -torch.inf).softmax(-1)  # p
            state = state + weights @ memories[hop]  # u^{k+1} = u^k + o^k
            attention.append(weights.detach())
        scores = state @ self.embeddings[-1].weight.T  # [stories, questions, vocabulary], W u^{K+1}
        return scores, torch.stack(attention) if record else None

    def check_words(self, words: torch.Tensor, what: str):
        if words.dtype != torch.long or words.dim() != 2 or words.shape[0] == 0:
            raise ValueError(
                f"{what} must be word indices, a long tensor [{what}, words], got a {words.dtype} tensor of shape "
                f"{tuple(words.shape)}"
            )
        if words.min() < 0 or words.max() >= self.vocabulary:
            raise ValueError(
                f"{what} hold word index {int(words.max() if words.max() >= self.vocabulary else words.min())}, but "
                f"this memory network knows {self.vocabulary} words (0 to {self.vocabulary - 1}); build it with "
                f"vocabulary= the size of the stories' vocabulary"
            )

    def adapt(self, support_x: torch.Tensor, support_y: torch.Tensor):
        self.check_words(support_x, "sentences")
        if support_y.shape != support_x.shape[:1]:
            raise ValueError(
                f"support_y gives the position of each sentence: shape {tuple(support_x.shape[:1])}, got "
                f"{tuple(support_y.shape)}"
            )
        memory = self.write(support_x.unsqueeze(0), support_y.unsqueeze(0))

        def answer(query_x: torch.Tensor) -> torch.Tensor:
            self.check_words(query_x, "questions")
            return self.read(memory, query_x.unsqueeze(0))[0][0]  # [questions, vocabulary]

        return answer

    def training_loss(self, batch) -> tuple[torch.Tensor, float]:
        """The cross-entropy of the answers over a batch of stories, all at once, and their accuracy."""
        scores = self.read(self.write(batch.support_x, batch.support_y), batch.query_x)[0]
        self.training_steps += 1
        loss = nn.functional.cross_entropy(scores.flatten(0, 1), batch.query_y.flatten())
        return loss, (scores.argmax(-1) == batch.query_y).double().mean().item()
