"""Running the study on a remote GPU machine with a time limit per command and a transfer limit per call
(`python -m tools.remote_gpu --help`; see tools/README.md)."""
