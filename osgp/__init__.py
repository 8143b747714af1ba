"""Protocol model of the Open Smart Grid Protocol (ETSI TS 104 001), role-neutral.

Sub-modules:
    lon          ISO/IEC 14908-1 LPDU codec and CRC-16
    transaction  14908-1 transaction engine (TIDs, retries, duplicate detection)
    digest       the OSGP digest (OMA digest family)
    security     security profiles: digest + sequence numbers, RC4, AES-128-CCM
    app          OSGP application layer: requests, responses, codes, table ids
    tables       declarative table and procedure schemas
    session      one DUT conversation as seen by test cases
"""

__version__ = "0.1.0"
