"""Stand-ins for the partners' own systems, for running and testing the suite locally.

Each one speaks its partner's dialect, not Interchange's, and imports no Interchange service (an
import-linter contract keeps it so): it is the other side of the wire.
"""
