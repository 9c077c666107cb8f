"""Every method on the same seeded test tasks: accuracy, meta-training time, adaptation time, peak memory.

    from fewshot_lab.compare.scoring import compare             # score run folders (fewshot_lab.compare.scoring)
    from fewshot_lab.compare.table import write_comparison      # the record and its markdown table

    comparison = compare(["runs/protonet", "runs/maml"], settings=[(5, 1), (5, 5), (20, 1), (20, 5)])
    write_comparison(comparison, "results/compare.md")   # and results/compare.json beside it
    fewshot-lab compare runs/protonet runs/maml --out results/compare.md
    fewshot-lab compare --from-results results/compare.json --out results/compare.md   # rebuild the table

Each run folder (written by `fewshot-lab train --out`) is scored with fewshot_lab.evaluation.evaluate, whose
tasks depend only on the dataset, the split, the ways, shots, queries and the seed: every method meets the
same classes and the same images. compare checks it: it fingerprints the tasks each method was given
(a hash of every support and query tensor) and refuses a table whose methods saw different tasks.
A run that cannot take a setting (a 5-way head given 20-way tasks) shows n/a there, unless another run of
the same method (the same method trained at 20 ways) is scored at that setting: then its row says it all.

What each column measures:
- accuracy: mean over the tasks with its 95% confidence interval (fewshot_lab.evaluation).
- meta-training time: `history.seconds` of the run's last checkpoint, as recorded while training (on
  whatever machine and load it ran; the table says so).
- adaptation time per task: the median over tasks of adapt(support) + scoring the queries, in milliseconds.
- peak memory: on CUDA, torch.cuda.max_memory_allocated above what was allocated before the evaluation; on a
  CPU, the peak resident set size of the process above its value before the evaluation (after handing the C
  allocator's free memory back with glibc's malloc_trim, so that reused memory counts), sampled every 2 ms
  from /proc/self/statm (Linux; nan elsewhere). The CPU figure is coarse (a few MB), but it orders methods
  that keep a graph or a memory against those that do not.

Three modules: scoring (which runs, settings and tasks), measurement (timing, memory sampling) and table (the
record, its JSON file and its markdown table).
"""
