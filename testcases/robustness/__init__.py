"""robustness test cases of osgp-conformance (a package so they can share services/appkit.py)."""
