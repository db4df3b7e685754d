"""Detection, clustering and alert decisions: pure functions over records, wired by thin runners."""
