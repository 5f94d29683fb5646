"""The custom resources: schemas (pydantic) and the CRDs generated from them."""
