"""Stories: one event across many outlets."""
