"""The open-data catalogue as DCAT-AP.de JSON-LD (dcat:Catalog with dcat:Dataset and
dcat:Distribution), with the licence URI DCAT-AP.de gives dl-de/by-2-0 and the attribution text."""

from __future__ import annotations

from typing import Any

from .. import opendata

#: the licence as DCAT-AP.de's licence vocabulary names it
LICENCE_URI = "http://dcat-ap.de/def/licenses/dl-by-de/2.0"
CONTEXT = {
    "dcat": "http://www.w3.org/ns/dcat#",
    "dct": "http://purl.org/dc/terms/",
    "dcatde": "http://dcat-ap.de/def/dcatde/",
    "foaf": "http://xmlns.com/foaf/0.1/",
}
_DATASETS = {
    "measurements": ("Messwerte je Stunde", "Stündliche Zusammenfassung der Messwerte je Sensor (Anzahl, Summe,"
                     " Mittel, Minimum, Maximum); keine personenbezogenen Daten."),
    "feedback": ("Rückmeldungen", "Tastendrücke je Rückmelde-Sensor (eine Frage) und Kanal (die Antwort); kleine"
                 " Zahlen werden nicht veröffentlicht."),
    "usage": ("Nutzung der Kioske", "Nutzung der Kioske je Standort und Tag, anonym auf dem Kiosk gezählt:"
              " begonnene Besuche, gezeigte Seiten, gewählte Sprachen; kleine Zahlen werden nicht"
              " veröffentlicht."),
}  # fmt: skip


def catalogue(base: str, attribution: str) -> dict[str, Any]:
    """The catalogue for a server reached at ``base`` (``https://sync.example``)."""
    publisher = {"@type": "foaf:Organization", "foaf:name": attribution or "analog2digital"}

    def dataset(name: str) -> dict[str, Any]:
        title, text = _DATASETS[name]
        return {
            "@id": f"{base}/opendata#{name}",
            "@type": "dcat:Dataset",
            "dct:title": {"@language": "de", "@value": title},
            "dct:description": {"@language": "de", "@value": text},
            "dct:publisher": publisher,
            "dct:license": {"@id": LICENCE_URI},
            "dcatde:licenseAttributionByText": attribution or None,
            "dcat:theme": {"@id": "http://publications.europa.eu/resource/authority/data-theme/ENVI"},
            "dcat:distribution": [
                {
                    "@type": "dcat:Distribution",
                    "dct:title": f"{title} ({fmt})",
                    "dcat:accessURL": {"@id": f"{base}{opendata.PREFIX}/{name}.{ext}"},
                    "dcat:downloadURL": {"@id": f"{base}{opendata.PREFIX}/{name}.{ext}"},
                    "dct:format": {
                        "@id": f"http://publications.europa.eu/resource/authority/file-type/{fmt}"
                    },
                    "dcat:mediaType": media,
                    "dct:license": {"@id": LICENCE_URI},
                }
                for fmt, ext, media in (("JSON", "json", "application/json"), ("CSV", "csv", "text/csv"))
            ],
        }

    return {
        "@context": CONTEXT,
        "@id": f"{base}/opendata",
        "@type": "dcat:Catalog",
        "dct:title": {"@language": "de", "@value": "Offene Daten von analog2digital"},
        "dct:description": {"@language": "de", "@value": "Sensordaten und Rückmeldungen, zusammengefasst."},
        "dct:publisher": publisher,
        "dct:license": {"@id": LICENCE_URI},
        "dcat:dataset": [dataset(name) for name in _DATASETS],
    }
