"""Parametric survival (Weibull and alternatives) on pooled reconstructions of patient data."""
