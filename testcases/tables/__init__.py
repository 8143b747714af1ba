"""tables test cases of osgp-conformance (a package; the shared helpers are the DUT facade, osgpct/dut.py)."""
