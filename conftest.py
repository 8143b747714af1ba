"""Loads the campaign plugin (osgpct/plugin.py) for `pytest testcases usecases …`.

The plugin acts only on functions declared with @testcase / @usecase, so the self-tests in tests/
(what a bare `pytest` runs) are untouched by it.
"""

pytest_plugins = ["osgpct.plugin"]
