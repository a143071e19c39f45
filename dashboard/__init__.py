"""Anomaly Lens dashboard (Streamlit pages; no maths here)."""
