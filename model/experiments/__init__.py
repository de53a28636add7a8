"""Many runs: ensembles, scenario comparisons, sensitivity sweeps, budget tools, executors."""
