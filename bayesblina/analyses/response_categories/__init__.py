"""Response categories: Dirichlet-multinomial over Table 2.

CR is split by complete MRD response.
"""
