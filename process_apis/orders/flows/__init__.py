"""The order flow: its steps (``steps``), the saga that records their progress (``saga``) and the
background worker that runs it (``worker``)."""
