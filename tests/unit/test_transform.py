"""How the worker invokes dbt."""

from __future__ import annotations


def test_dbt_behavior_flags_still_name_the_module_that_declared_them() -> None:
    """loader.transform replaces dbt-common's slow lookup of a flag's source (inspect.stack);
    the source must still be the module that created the flags, as dbt reports it."""
    from dbt_common.behavior_flags import Behavior

    from loader.transform import _find_behavior_flag_sources_cheaply

    _find_behavior_flag_sources_cheaply()
    behavior = Behavior([{"name": "some_flag", "default": False, "description": "d"}], {})
    assert behavior.some_flag._behavior_change_event.flag_source == __name__
