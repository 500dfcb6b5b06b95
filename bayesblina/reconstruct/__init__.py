"""Patient-level data reconstructed from published summaries.

Pseudo patient data, Guyot's KM reconstruction, the published margins of the patient table.
"""
