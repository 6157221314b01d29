"""Control flow of a run: each exception says why the loop stops and carries what the result
needs."""


class AutocoderError(Exception):
    """Bad input from the user: one clear line, exit code 2, nothing written."""


class StopRun(Exception):
    """Ends the loop; `status` becomes the run's status and the message its reason."""

    status = "error"


class Done(StopRun):
    status = "done"


class LimitsExceeded(StopRun):
    status = "max_steps"


class Stalled(StopRun):
    """Repairs stopped moving the project: the best version found is kept (loop.PATIENCE)."""

    status = "stalled"


class TooManyMalformed(StopRun):
    status = "malformed"


class Interrupted(StopRun):
    status = "stopped"


class ModelFailed(StopRun):
    status = "error"


class Late(Exception):
    """A remote call reached the run's time limit (Settings.until) before its endpoint answered:
    the provider returns a reply stopped there, as a local one is."""
