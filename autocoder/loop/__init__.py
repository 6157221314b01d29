"""The loop: observe, decide, act (agent.py), in the seed's order of phases (planner.py), asked
with the messages of prompt.py, configured by config.py."""

# The defaults of a run, in one place (cheap to import: the CLI's --help shows them): `autocoder
# run`, the library and `autocoder bench` take these, for every goal and suite alike. The model's
# is providers.DEFAULT_MODEL; the time limit's, config.default_time_limit.
# SAMPLES: the most candidates a fresh start makes (the greedy one, a round of 16, and a round of
# 8 asking the goal as written: fresh/shapes.py); it stops sooner when one is met, when the first
# ones are barren, or when the time left would not hold another round (fresh/sampling.py). A
# repair step tries at most ATTEMPTS of its own.
MAX_STEPS, SAMPLES, MAX_TOKENS = 25, 25, 1024
ATTEMPTS = 4
# repair steps in a row that leave the project where it was before the run stops as `stalled`
# (the best version kept): a repair that does not move the project rarely does on the next try
PATIENCE = 2
