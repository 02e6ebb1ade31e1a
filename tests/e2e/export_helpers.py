"""OTLP spans in one normal form, for the export tests: an ExportTraceServiceRequest as OTLP
JSON (difftrace's otlp-json file) or as protobufjs decodes it (otlp_receiver/receiver.js) gives
the same dicts, so the two can be compared with ==.
"""
import json


def _attrs(kvs):
    out = {}
    for kv in kvs or []:
        v = kv.get("value", {})
        out[kv["key"]] = ("int", str(v["intValue"])) if "intValue" in v else \
            ("string", v.get("stringValue", ""))
    return out


def flatten(request):
    """(ExportTraceServiceRequest as OTLP JSON or as decoded by protobufjs) -> span dicts,
    each with its resource's attributes, in one normal form."""
    spans = []
    for rs in request.get("resourceSpans", []):
        resource = _attrs(rs.get("resource", {}).get("attributes"))
        for ss in rs.get("scopeSpans", []):
            scope = ss.get("scope", {}).get("name", "")
            for s in ss.get("spans", []):
                status = s.get("status") or {}
                spans.append({
                    "traceId": s["traceId"], "spanId": s["spanId"],
                    "parentSpanId": s.get("parentSpanId", ""),
                    "name": s["name"], "kind": int(s["kind"]),
                    "start": str(s["startTimeUnixNano"]), "end": str(s["endTimeUnixNano"]),
                    "attributes": _attrs(s.get("attributes")),
                    "status": (int(status.get("code", 0)), status.get("message", "")),
                    "resource": resource, "scope": scope,
                })
    return sorted(spans, key=lambda s: (s["start"], s["spanId"]))


def json_spans(path):
    with open(path) as f:
        return sorted((s for l in f if l.strip() for s in flatten(json.loads(l))),
                      key=lambda s: (s["start"], s["spanId"]))
