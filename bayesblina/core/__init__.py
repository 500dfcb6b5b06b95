"""The road every analysis travels.

Spec schema and loading, the model base, sampling, the convergence gate, posterior
summaries, fits, comparisons and pooling.
"""
