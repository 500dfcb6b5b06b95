"""Response rate: beta-binomial CR rates.

With their conjugate check and the Clopper–Pearson reference.
"""
