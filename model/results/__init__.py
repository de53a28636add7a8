"""What a run produces: the recorder, the tidy tables, results folders and the metrics."""
