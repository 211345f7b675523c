"""CoFi options for tests of the stage-1 game itself: no coarse teacher and no warm-up, the
mutual term on (the tiny preset's `[cofi]`), so that a test sets only what it is about."""

from ucgen.methods.cofi.config import CoFiConfig

GAME = {"teacher_steps": 0, "mi_warmup": 0, "freeze_codes": False, "w_mutual": 4.0}


def game_options(**values: object) -> CoFiConfig:
    return CoFiConfig(**{**GAME, **values})  # type: ignore[arg-type]
