"""The loop: observe, decide, act (agent.py), in the seed's order of phases (planner.py), asked
with the messages of prompt.py, configured by config.py."""

# The defaults of a run, in one place (cheap to import: the CLI's --help shows them): `autocoder
# run`, the library and `autocoder bench` take these. The model's is providers.DEFAULT_MODEL; the
# time limit's, config.default_time_limit.
MAX_STEPS, SAMPLES, MAX_TOKENS = 25, 4, 1024
