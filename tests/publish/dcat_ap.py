"""DCAT-AP 3's mandatory (and the city's recommended) properties, checked by SHACL (``dcat_ap_shapes.ttl``)
on a catalog as any RDF reader parses it: JSON-LD into rdflib, validated by pyshacl."""

from __future__ import annotations

import json
from pathlib import Path

SHAPES = Path(__file__).with_name("dcat_ap_shapes.ttl")


def graph(catalog: dict | str):
    """The catalog as RDF (its context is inline: nothing is fetched)."""
    import rdflib

    text = catalog if isinstance(catalog, str) else json.dumps(catalog, ensure_ascii=False)
    return rdflib.Graph().parse(data=text, format="json-ld")


def violations(catalog: dict | str) -> list[str]:
    """Each SHACL result as one line (focus node, path, message); [] when the catalog conforms."""
    import pyshacl
    import rdflib

    shapes = rdflib.Graph().parse(SHAPES, format="turtle")
    conforms, results, _text = pyshacl.validate(graph(catalog), shacl_graph=shapes, inference="none",
                                                allow_warnings=False)
    if conforms:
        return []
    sh = rdflib.Namespace("http://www.w3.org/ns/shacl#")
    return sorted(f"{results.value(r, sh.focusNode)} {results.value(r, sh.resultPath)}: "
                  f"{results.value(r, sh.resultMessage)}" for r in results.subjects(rdflib.RDF.type, sh.ValidationResult))
