"""The osgp-conformance harness: test plan, PICS, requirement catalogue, test-case API, pytest plugin, CLI.

The protocol model lives in `osgp` (which imports nothing from here); drivers, the reference device,
reports, test cases and use cases are subpackages (`osgpct.drivers`, ...) mapped from the folders at
the top of the repository.
"""
