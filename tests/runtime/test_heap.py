import gc

from newsvigil.runtime.heap import YOUNG_THRESHOLD, frozen_startup_objects


def test_a_command_freezes_what_exists_and_leaves_the_process_as_it_was():
    before_threshold, before_frozen = gc.get_threshold(), gc.get_freeze_count()
    made_before = [object(), []]
    with frozen_startup_objects():
        assert gc.get_freeze_count() > before_frozen  # made_before and the rest of start-up
        assert gc.get_threshold()[0] == YOUNG_THRESHOLD
    assert gc.get_threshold() == before_threshold
    assert gc.get_freeze_count() == before_frozen
    assert made_before


def test_what_the_process_froze_before_a_command_stays_frozen_after_it():
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        with frozen_startup_objects():
            pass
        assert gc.get_freeze_count() >= frozen
    finally:
        gc.unfreeze()
