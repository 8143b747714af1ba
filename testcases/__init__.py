"""The catalogue of conformance test cases, installed as `osgpct.testcases`."""
