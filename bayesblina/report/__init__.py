"""Outputs: summary.json, CSV tables, PNG figures, idata files and the HTML report."""
