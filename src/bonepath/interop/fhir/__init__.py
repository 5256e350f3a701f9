"""HL7 FHIR R4 (R4B models of fhir.resources): import into record v1 and export from it.

Only this package (and the HTTP routers on top of it) imports a FHIR library; the domain does
not (docs/ARCHITECTURE.md invariant 1). docs/fhir.md describes the mapping.
"""
