#!/usr/bin/python3
"""Reads Atom feeds with Debian's python3-feedparser, an independent parser, and prints what it
understood as JSON: {file: {bozo, error, lang, title, links, entries: [...]}}."""
import json
import sys

import feedparser

out = {}
for path in sys.argv[1:]:
    with open(path, "rb") as f:
        d = feedparser.parse(f.read())
    out[path] = {
        "bozo": bool(d.bozo),
        "error": str(d.get("bozo_exception", "")),
        "version": d.version,
        "lang": d.feed.get("language", ""),
        "title": d.feed.get("title", ""),
        "links": {l.get("rel", ""): l.get("href", "") for l in d.feed.get("links", [])},
        "entries": [
            {
                "id": e.get("id", ""),
                "title": e.get("title", ""),
                "link": e.get("link", ""),
                "published": e.get("published", ""),
                "updated": e.get("updated", ""),
                "summary": e.get("summary", ""),
                "content": (e.get("content") or [{}])[0].get("value", ""),
                "tags": [t.get("term", "") for t in e.get("tags", [])],
            }
            for e in d.entries
        ],
    }
json.dump(out, sys.stdout, ensure_ascii=False)
