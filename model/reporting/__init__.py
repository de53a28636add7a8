"""What a person reads: figures, the report and the validation against observed data."""
