"""Where emulated phone numbers come from: countries' dialling codes, number types and a
deterministic supply of available numbers, so searches and claims agree with each other."""

from __future__ import annotations

from collections.abc import Iterator

DIAL_CODES: dict[str, str] = {
    "US": "1",
    "CA": "1",
    "GB": "44",
    "DE": "49",
    "FR": "33",
    "AU": "61",
    "JP": "81",
    "NL": "31",
    "ES": "34",
    "IT": "39",
    "IE": "353",
    "MX": "52",
    "BR": "55",
    "IN": "91",
    "SG": "65",
    "NZ": "64",
    "ZA": "27",
    "SE": "46",
    "CH": "41",
    "AT": "43",
}
TOLL_FREE_PREFIXES: dict[str, tuple[str, ...]] = {
    "US": ("800", "888", "877", "866", "855", "844", "833"),
    "CA": ("800", "888"),
    "GB": ("800", "808"),
    "DE": ("800",),
    "FR": ("800", "805"),
    "AU": ("1800",),
    "JP": ("120",),
}
CANADIAN_AREA_CODES = ("416", "604", "514", "403", "613", "647", "778", "905")
DID_AREA_CODES: dict[str, tuple[str, ...]] = {
    "US": ("206", "212", "312", "415", "512", "617", "702", "917"),
    "CA": CANADIAN_AREA_CODES,
}
UIFN_PREFIX = "+800"
SEARCHABLE_TYPES = ("DID", "TOLL_FREE", "UIFN")


def classify(e164: str) -> tuple[str, str] | None:
    """(country, type) of a number the emulator could offer, or None."""
    if e164.startswith(UIFN_PREFIX):
        return "US", "UIFN"
    digits = e164.lstrip("+")
    for country, code in sorted(DIAL_CODES.items(), key=lambda kv: -len(kv[1])):
        if not digits.startswith(code):
            continue
        national = digits[len(code) :]
        if code == "1":
            country = "CA" if national[:3] in CANADIAN_AREA_CODES else "US"
        for prefix in TOLL_FREE_PREFIXES.get(country, ()):
            if national.startswith(prefix):
                return country, "TOLL_FREE"
        return country, "DID"
    return None


def supply(country: str, number_type: str, prefix: str | None) -> Iterator[str]:
    """Every number the emulator offers for a country and type, in a stable order."""
    if number_type not in SEARCHABLE_TYPES or country not in DIAL_CODES:
        return
    code = DIAL_CODES[country]
    if number_type == "UIFN":
        heads = [UIFN_PREFIX]
    elif number_type == "TOLL_FREE":
        heads = [f"+{code}{p}" for p in TOLL_FREE_PREFIXES.get(country, ())]
    else:
        heads = [f"+{code}{a}" for a in DID_AREA_CODES.get(country, ("20", "30", "40"))]
    wanted = "" if prefix is None else "+" + prefix.lstrip("+")
    for head in heads:
        if not (head.startswith(wanted) or wanted.startswith(head)):
            continue
        width = (11 if code == "1" else 12) - len(head) + 1
        rest = wanted[len(head) :]
        if len(rest) > width:
            continue
        low = int(rest.ljust(width, "0")) if rest else 0
        high = int(rest.ljust(width, "9")) if rest else 10**width - 1
        for serial in range(low, high + 1):
            yield f"{head}{serial:0{width}d}"
