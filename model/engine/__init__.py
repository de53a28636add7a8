"""The simulation engine: the scenario schema, households, villages, money and the monthly step.

The engine imports nothing from the layers above it (results, experiments, reporting, commands,
dashboard); ``tests/test_layers.py`` checks it.
"""
