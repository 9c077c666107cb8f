"""What the notebooks draw and run: s71.py to s78.py hold one section's figures, widgets and small experiments each
(7.1 to 7.8; 7.2's are its experiments on sine waves), compare.py the figure of notebooks/compare.ipynb. A piece
that several sections use lives once beside them: drawing.py (images, tasks, labels, colours, a figure as a
widget's PNG), results.py (training runs and evaluations), embedding.py (PCA views), timing.py (the one clock)
and diagrams/ (the schematic figures of episodes, loops, attention, memory, unrolls and parameter space).
"""
