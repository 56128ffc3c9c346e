"""Helpers that set up REAL components for tests (pass + gpg, gcloud config dirs, ...)."""
