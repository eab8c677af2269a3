"""Nightly device-farm runs: preflight, shards, the night orchestrator, farm health, the hook."""
