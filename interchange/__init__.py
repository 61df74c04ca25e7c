"""The ``interchange`` command: the local launcher, contract tooling and client management."""
